package resample

import "fmt"

// Convert resamples a whole buffer from inRate to outRate Hz, including the filter
// tail, and returns a new slice of ceil(len(src)*outRate/inRate) samples.
func Convert(src []int16, inRate, outRate int) ([]int16, error) {
	r, err := New(inRate, outRate)
	if err != nil {
		return nil, fmt.Errorf("converting %d samples: %w", len(src), err)
	}
	dst := make([]int16, 0, r.MaxOutput(len(src)))
	dst = r.Process(dst, src)
	return r.Flush(dst), nil
}
