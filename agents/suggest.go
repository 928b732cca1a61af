package agents

import "strings"

// suggest returns the candidate closest to s by edit distance, if it is close
// enough to be a likely typo; "" otherwise. Ties go to the earlier candidate.
func suggest(s string, candidates []string) string {
	s = strings.ToLower(s)
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(s, c)
		limit := max(1, len(c)/3)
		if strings.ReplaceAll(s, "-", "_") == c || strings.ReplaceAll(s, "_", "") == strings.ReplaceAll(c, "_", "") {
			d = 0
		}
		if d <= limit && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b,
// counted in runes: insertions, deletions, substitutions and swaps of two
// neighbours ("dya" → "day") each cost one.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		// Keys this long are never typos of a field name.
		return max(len(ra), len(rb))
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
