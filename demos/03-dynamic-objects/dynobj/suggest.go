package dynobj

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// suggest returns up to three served names close to arg.
func (r *Resolver) suggest(arg string) []string {
	lists, _ := r.discovery.ServerPreferredResources()
	want := strings.ToLower(arg)
	if i := strings.IndexByte(want, '.'); i > 0 {
		want = want[:i]
	}
	type scored struct {
		name string
		dist int
	}
	best := map[string]int{}
	consider := func(name, candidate string) {
		candidate = strings.ToLower(candidate)
		if candidate == "" {
			return
		}
		d := editDistance(want, candidate)
		if len(want) >= 3 && strings.HasPrefix(candidate, want) {
			d = min(d, 1)
		}
		// Allow about one typo per three letters of the shorter word.
		if limit := max(1, min(len(want), len(candidate))/3); d > limit {
			return
		}
		if old, ok := best[name]; !ok || d < old {
			best[name] = d
		}
	}
	for _, l := range lists {
		group := groupOf(l.GroupVersion)
		for _, res := range l.APIResources {
			if strings.Contains(res.Name, "/") {
				continue
			}
			name := qualified(res, group)
			consider(name, res.Name)
			consider(name, res.SingularName)
			consider(name, res.Kind)
			for _, s := range res.ShortNames {
				consider(name, s)
			}
		}
	}
	var all []scored
	for n, d := range best {
		all = append(all, scored{n, d})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].dist != all[j].dist {
			return all[i].dist < all[j].dist
		}
		return all[i].name < all[j].name
	})
	var out []string
	for i := 0; i < len(all) && i < 3; i++ {
		out = append(out, all[i].name)
	}
	return out
}

func qualified(res metav1.APIResource, group string) string {
	if group == "" {
		return res.Name
	}
	return res.Name + "." + group
}

// editDistance is the optimal-string-alignment distance between a and b: insertions,
// deletions, substitutions and swaps of two neighbouring letters each cost 1, so the
// typo "pdos" is one step from "pods".
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
