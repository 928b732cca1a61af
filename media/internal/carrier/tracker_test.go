package carrier

import "testing"

func TestTracker(t *testing.T) {
	tr := NewTracker(1600)
	var marks []string
	send := func(frames int) {
		for range frames {
			tr.Wrote(320)
			if m := tr.Sent(320); m != "" {
				marks = append(marks, m)
			}
		}
	}
	send(12) // 240 ms: marks at 100 and 200 ms
	if len(marks) != 2 || marks[0] != "parley-1" || marks[1] != "parley-2" || tr.Pending() != 2 {
		t.Fatalf("marks %v pending %d", marks, tr.Pending())
	}
	if m := tr.Tail(); m != "parley-3" || tr.Tail() != "" {
		t.Fatalf("tail mark %q; a second Tail must be empty", m)
	}
	if tr.Played("parley-9") || tr.Unconfirmed() != 12*320 {
		t.Fatalf("an unknown mark changed the count: %d", tr.Unconfirmed())
	}
	// Marks confirm everything before them, even when one is skipped.
	if !tr.Played("parley-2") || tr.Unconfirmed() != 2*320 || tr.Pending() != 1 {
		t.Fatalf("after parley-2: unconfirmed %d pending %d", tr.Unconfirmed(), tr.Pending())
	}
	if tr.Played("parley-1") || tr.Played("parley-2") {
		t.Fatal("a mark before the last confirmed, or a repeat, was accepted")
	}
	// A frame written but not yet sent (still in the packetizer) is unheard too.
	tr.Wrote(320)
	if got := tr.Clear(); got != 3*320 || tr.ClearedUnheard() != 3*320 {
		t.Fatalf("Clear = %d, want %d", got, 3*320)
	}
	// Marks pending at the clear come back meaning dropped: no effect.
	if tr.Played("parley-3") || tr.Unconfirmed() != 0 || tr.Pending() != 0 {
		t.Fatalf("after clear: unconfirmed %d pending %d", tr.Unconfirmed(), tr.Pending())
	}
	// Counting restarts; names keep increasing.
	send(5)
	if marks[len(marks)-1] != "parley-4" {
		t.Fatalf("marks after clear %v", marks)
	}
	if tr.Clear(); tr.ClearedUnheard() != 5*320 {
		t.Fatalf("unheard %d", tr.ClearedUnheard())
	}
	if NewTracker(0).every != DefaultMarkEvery {
		t.Fatal("default spacing")
	}
}
