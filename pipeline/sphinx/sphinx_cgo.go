//go:build cgo

package sphinx

import "fmt"

// New checks the model files, loads the acoustic model once to surface any
// error now rather than during a call, and returns a recogniser whose decoders
// are created on demand.
func New(cfg Config) (*STT, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := cfg.checkFiles(); err != nil {
		return nil, err
	}
	probe, err := newPSDecoder(cfg.ModelDir, nil)
	if err != nil {
		return nil, err
	}
	probe.free()
	modelDir := cfg.ModelDir
	narrowPrime, err := telephoneBand(cfg.Prime)
	if err != nil {
		return nil, err
	}
	return newSTT(cfg, func(g *grammar) (engine, error) {
		d, err := newPSDecoder(modelDir, g)
		if err != nil {
			return nil, fmt.Errorf("creating decoder for grammar %s: %w", g.key, err)
		}
		pr := cfg.Prime
		if g.narrow {
			pr = narrowPrime
		}
		if err := prime(d, pr); err != nil {
			d.free()
			return nil, fmt.Errorf("priming decoder for grammar %s: %w", g.key, err)
		}
		return d, nil
	})
}

// Available reports whether this binary and machine can run the recogniser
// with the default model: nil, or an error saying what is missing. It checks
// the files only and does not load the model.
func Available() error {
	return Config{}.withDefaults().checkFiles()
}
