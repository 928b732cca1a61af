package telnyx

import (
	"fmt"
	"slices"
	"testing"
)

func TestReorderer(t *testing.T) {
	type in struct {
		seq   uint64
		media bool
	}
	m := func(s uint64) in { return in{s, true} }
	ev := func(s uint64) in { return in{s, false} }
	for _, tc := range []struct {
		name          string
		begin         uint64
		ins           []in
		want          []uint64
		late, skipped uint64
	}{
		{"in order", 2, []in{m(2), m(3), m(4)}, []uint64{2, 3, 4}, 0, 0},
		{"swap", 2, []in{m(2), m(4), m(3), m(5)}, []uint64{2, 3, 4, 5}, 0, 0},
		{"events fill the numbering", 2, []in{m(2), ev(3), m(4), ev(5), m(6)}, []uint64{2, 4, 6}, 0, 0},
		{"duplicate and late dropped", 2, []in{m(2), m(3), m(3), m(2)}, []uint64{2, 3}, 2, 0},
		{"gap skipped past the window", 2, []in{m(2), m(4), m(5), m(6), m(7), m(8), m(9)}, []uint64{2, 4, 5, 6, 7, 8, 9}, 0, 1},
		{"late after skip dropped", 2, []in{m(2), m(4), m(5), m(6), m(7), m(8), m(9), m(3)}, []uint64{2, 4, 5, 6, 7, 8, 9}, 1, 1},
		{"no start number", 0, []in{m(10), m(12), m(11)}, []uint64{10, 11, 12}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReorderer()
			if tc.begin > 0 {
				r.begin(tc.begin)
			}
			var got []uint64
			for _, x := range tc.ins {
				r.push(x.seq, x.media, []byte(fmt.Sprint(x.seq)), func(p []byte) {
					var s uint64
					fmt.Sscan(string(p), &s)
					got = append(got, s)
				})
			}
			if !slices.Equal(got, tc.want) || r.late != tc.late || r.skipped != tc.skipped {
				t.Fatalf("released %v late %d skipped %d; want %v, %d, %d", got, r.late, r.skipped, tc.want, tc.late, tc.skipped)
			}
		})
	}
}
