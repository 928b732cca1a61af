//go:build linux

// The cluster helpers are Linux only: each server is started with a parent
// death signal, so that no nats-server outlives a test binary that panics or
// times out before its cleanups run.

package whtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const natsServerModule = "github.com/nats-io/nats-server/v2"

var natsBuild struct {
	once sync.Once
	path string
	err  error
}

// NATSServerBinary returns a nats-server binary of the version this module
// requires, built with `go build` from the module cache (so it works
// offline) once and kept under os.TempDir for the next runs.
func NATSServerBinary(t testing.TB) string {
	t.Helper()
	natsBuild.once.Do(func() { natsBuild.path, natsBuild.err = buildNATSServer() })
	if natsBuild.err != nil {
		t.Fatalf("the cluster test needs a nats-server binary: %v", natsBuild.err)
	}
	return natsBuild.path
}

func buildNATSServer() (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is not on PATH to build %s: %w", natsServerModule, err)
	}
	// The version this module requires (a test binary does not record its
	// dependencies' versions).
	out, err := exec.Command(goTool, "list", "-m", "-f", "{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}", natsServerModule).Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w", natsServerModule, err)
	}
	version := strings.TrimSpace(string(out))
	if version == "" {
		return "", fmt.Errorf("go list -m %s printed no version", natsServerModule)
	}
	dir := filepath.Join(os.TempDir(), "parley-test-nats-server-"+version)
	bin := filepath.Join(dir, "nats-server")
	if out, err := exec.Command(bin, "--version").Output(); err == nil && strings.Contains(string(out), strings.TrimPrefix(version, "v")) {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	cmd := exec.Command(goTool, "build", "-o", tmp, natsServerModule)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("go build %s (%s, from the module cache): %v\n%s", natsServerModule, version, err, log.String())
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	return bin, nil
}

// NATSCluster is a JetStream cluster of nats-server processes on loopback.
type NATSCluster struct {
	Nodes []*NATSNode
}

// NATSNode is one nats-server process of a NATSCluster.
type NATSNode struct {
	Name      string // server_name
	ClientURL string // nats://127.0.0.1:port
	monitor   string // http://127.0.0.1:port
	dir       string
	cmd       *exec.Cmd
	exited    chan struct{}
}

// StartNATSCluster starts n nats-server processes that route to each other,
// with JetStream on file storage in t.TempDir(), and waits until JetStream
// has a meta leader on every node. The servers are killed when the test ends.
func StartNATSCluster(t testing.TB, n int) *NATSCluster {
	t.Helper()
	bin := NATSServerBinary(t)
	var err error
	for range 3 { // a free port may be taken before the server binds it
		var c *NATSCluster
		if c, err = startNATSCluster(t, bin, n); err == nil {
			return c
		}
		t.Logf("starting the NATS cluster: %v; trying again with other ports", err)
	}
	t.Fatalf("starting a %d-node NATS cluster: %v", n, err)
	return nil
}

func startNATSCluster(t testing.TB, bin string, n int) (*NATSCluster, error) {
	ports, err := freePorts(3 * n)
	if err != nil {
		return nil, err
	}
	root := t.TempDir()
	c := &NATSCluster{}
	for i := range n {
		node := &NATSNode{
			Name:      fmt.Sprintf("n%d", i+1),
			ClientURL: fmt.Sprintf("nats://127.0.0.1:%d", ports[3*i]),
			monitor:   fmt.Sprintf("http://127.0.0.1:%d", ports[3*i+1]),
			dir:       filepath.Join(root, fmt.Sprintf("n%d", i+1)),
			exited:    make(chan struct{}),
		}
		var routes []string
		for j := range n {
			if j != i {
				routes = append(routes, fmt.Sprintf("%q", fmt.Sprintf("nats-route://127.0.0.1:%d", ports[3*j+2])))
			}
		}
		conf := fmt.Sprintf(`server_name: %q
listen: "127.0.0.1:%d"
http: "127.0.0.1:%d"
jetstream {
  store_dir: %q
  max_memory_store: 64MB
  max_file_store: 8GB
}
cluster {
  name: "parley-test"
  listen: "127.0.0.1:%d"
  routes: [%s]
}
`, node.Name, ports[3*i], ports[3*i+1], filepath.Join(node.dir, "jetstream"), ports[3*i+2], strings.Join(routes, ", "))
		if err := os.MkdirAll(node.dir, 0o755); err != nil {
			return nil, err
		}
		cfgPath := filepath.Join(node.dir, "nats.conf")
		if err := os.WriteFile(cfgPath, []byte(conf), 0o644); err != nil {
			return nil, err
		}
		logf, err := os.Create(filepath.Join(node.dir, "server.log"))
		if err != nil {
			return nil, err
		}
		node.cmd = exec.Command(bin, "-c", cfgPath)
		node.cmd.Stdout, node.cmd.Stderr = logf, logf
		node.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := node.cmd.Start(); err != nil {
			logf.Close()
			c.killAll()
			return nil, fmt.Errorf("starting nats-server %s: %w", node.Name, err)
		}
		go func() {
			_ = node.cmd.Wait()
			logf.Close()
			close(node.exited)
		}()
		c.Nodes = append(c.Nodes, node)
	}
	t.Cleanup(func() {
		c.killAll()
		if t.Failed() {
			for _, node := range c.Nodes {
				b, _ := os.ReadFile(filepath.Join(node.dir, "server.log"))
				t.Logf("nats-server %s log (end):\n%s", node.Name, lastBytes(string(b), 3000))
			}
		}
	})
	if err := c.waitReady(30 * time.Second); err != nil {
		c.killAll()
		return nil, err
	}
	return c, nil
}

// freePorts returns distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitReady waits until every node is healthy and agrees on a JetStream meta
// leader.
func (c *NATSCluster) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		var problem error
		leaders := map[string]bool{}
		for _, node := range c.Nodes {
			select {
			case <-node.exited:
				b, _ := os.ReadFile(filepath.Join(node.dir, "server.log"))
				return fmt.Errorf("nats-server %s exited at start:\n%s", node.Name, lastBytes(string(b), 2000))
			default:
			}
			leader, err := node.metaLeader(client)
			if err != nil {
				problem = err
				break
			}
			leaders[leader] = true
		}
		if problem == nil && len(leaders) == 1 {
			return nil
		}
		if problem == nil {
			problem = fmt.Errorf("the nodes disagree on the JetStream meta leader: %v", leaders)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the JetStream cluster was not ready within %s: %w", timeout, problem)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metaLeader asks the node's monitoring port for its health and JetStream
// meta leader.
func (n *NATSNode) metaLeader(client *http.Client) (string, error) {
	resp, err := client.Get(n.monitor + "/healthz")
	if err != nil {
		return "", fmt.Errorf("%s: %w", n.Name, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: /healthz answered %s", n.Name, resp.Status)
	}
	resp, err = client.Get(n.monitor + "/jsz")
	if err != nil {
		return "", fmt.Errorf("%s: %w", n.Name, err)
	}
	defer resp.Body.Close()
	var jsz struct {
		Meta *struct {
			Leader      string `json:"leader"`
			ClusterSize int    `json:"cluster_size"`
		} `json:"meta_cluster"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&jsz); err != nil {
		return "", fmt.Errorf("%s: reading /jsz: %w", n.Name, err)
	}
	if jsz.Meta == nil || jsz.Meta.Leader == "" {
		return "", fmt.Errorf("%s: no JetStream meta leader yet", n.Name)
	}
	return jsz.Meta.Leader, nil
}

// URL lists the nodes' client URLs in the given order (all of them, in
// order, when none is given), comma-separated as Config.URL takes them.
func (c *NATSCluster) URL(order ...int) string {
	if len(order) == 0 {
		for i := range c.Nodes {
			order = append(order, i)
		}
	}
	urls := make([]string, len(order))
	for i, o := range order {
		urls[i] = c.Nodes[o].ClientURL
	}
	return strings.Join(urls, ",")
}

// Index returns the index of the node with this server name, or -1.
func (c *NATSCluster) Index(name string) int {
	for i, node := range c.Nodes {
		if node.Name == name {
			return i
		}
	}
	return -1
}

// StreamLeader returns the index of the node that leads the stream.
func (c *NATSCluster) StreamLeader(t testing.TB, stream string) int {
	t.Helper()
	var live []string
	for _, node := range c.Nodes {
		if node.Running() {
			live = append(live, node.ClientURL)
		}
	}
	nc, err := nats.Connect(strings.Join(live, ","), nats.Name("whtest"))
	if err != nil {
		t.Fatalf("connecting to the NATS cluster: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		s, err := js.Stream(ctx, stream)
		if err == nil {
			if ci := s.CachedInfo().Cluster; ci != nil && ci.Leader != "" {
				if i := c.Index(ci.Leader); i >= 0 {
					return i
				}
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("finding the leader of stream %s: %v", stream, errors.Join(err, ctx.Err()))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Kill sends SIGKILL to node i and waits until it is gone.
func (c *NATSCluster) Kill(t testing.TB, i int) {
	t.Helper()
	node := c.Nodes[i]
	if err := node.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("killing nats-server %s: %v", node.Name, err)
	}
	select {
	case <-node.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("nats-server %s still runs 10s after SIGKILL", node.Name)
	}
	if ws, ok := node.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("nats-server %s ended with %v, not by SIGKILL", node.Name, node.cmd.ProcessState)
	}
}

// Running reports whether the node's process is still running.
func (n *NATSNode) Running() bool {
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

func (c *NATSCluster) killAll() {
	for _, node := range c.Nodes {
		if node.Running() {
			_ = node.cmd.Process.Kill()
		}
	}
	for _, node := range c.Nodes {
		<-node.exited
	}
}

func lastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
