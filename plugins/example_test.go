package plugins_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parley-voice/parley/plugins"
)

type weatherArgs struct {
	City string `json:"city" jsonschema_description:"City name, e.g. Lisbon"`
	Unit string `json:"unit,omitempty" jsonschema:"enum=celsius,enum=fahrenheit"`
}

// A typed Go function becomes a tool; its arguments' schema comes from the
// struct, and bad arguments never reach the function.
func ExampleNewFunc() {
	weather := plugins.MustFunc("get_weather", "Current weather in a city.",
		func(ctx context.Context, a weatherArgs) (any, error) {
			return map[string]any{"city": a.City, "temp": 21, "unit": "celsius"}, nil
		}, plugins.WithTimeout(3*time.Second))

	fmt.Println(string(weather.Spec().Parameters))

	res, err := plugins.Run(context.Background(), weather, json.RawMessage(`{"city":"Lisbon"}`), 0, 0)
	fmt.Println(res.Content, err)

	_, err = plugins.Run(context.Background(), weather, json.RawMessage(`{"city":"Lisbon","unit":"kelvin"}`), 0, 0)
	fmt.Println(err)
	// Output:
	// {"properties":{"city":{"type":"string","description":"City name, e.g. Lisbon"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"additionalProperties":false,"type":"object","required":["city"]}
	// {"city":"Lisbon","temp":21,"unit":"celsius"} <nil>
	// tool "get_weather": argument "unit": must be one of "celsius", "fahrenheit"
}

// Programs register their tools into an Environment (usually plugins.Default,
// from init) and build each agent's Toolset from the refs in its config.
func ExampleEnvironment_Build() {
	env := plugins.NewEnvironment()
	_ = env.RegisterTool(plugins.MustFunc("ping", "Checks the line.",
		func(context.Context, struct{}) (any, error) { return "pong", nil }))

	ts, err := env.Build([]plugins.Ref{{Name: "ping", As: "check_line", Timeout: time.Second}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ts.Close()
	for _, spec := range ts.Specs() {
		fmt.Println(spec.Name, spec.Description, ts.Timeout(spec.Name))
	}
	tool, _ := ts.Lookup("check_line")
	res, _ := plugins.Run(context.Background(), tool, nil, ts.Timeout("check_line"), 0)
	fmt.Println(res.Content)

	_, err = env.Build([]plugins.Ref{{Name: "ping"}, {Name: "pong"}})
	fmt.Println(err)
	// Output:
	// check_line Checks the line. 1s
	// pong
	// tool ref 1 ("pong"): unknown tool
}
