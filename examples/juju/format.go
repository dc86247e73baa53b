package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"
)

// output writes v as json or yaml, or calls tabular for the default.
func output(w io.Writer, format string, v any, tabular func(*tabwriter.Writer)) error {
	switch format {
	case "", "tabular":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		tabular(tw)
		return tw.Flush()
	case "json":
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case "yaml":
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2) // as Juju's (yaml.v2)
		if err := enc.Encode(v); err != nil {
			return err
		}
		return enc.Close()
	}
	return usagef("format %q not valid: want tabular, json or yaml", format)
}

// ago says how long ago t was, as Juju does in listings.
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never connected"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	}
	return t.UTC().Format("2006-01-02")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// jujuTable lays out a table as Juju's tabwriter does (cmd/output: padding
// 2, a column as wide as its widest cell): every cell of a row ends with a
// tab in Juju's, so a row's last cell is padded too, while the header's
// last cell is not; columns in right are right-aligned within the column,
// the padding after them.
func jujuTable(header []string, rows [][]string, right map[int]bool) string {
	widths := make([]int, len(header))
	for i, h := range header {
		if i < len(header)-1 {
			widths[i] = len(h)
		}
	}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	var b strings.Builder
	cell := func(i int, c string) {
		pad := strings.Repeat(" ", widths[i]-len(c))
		if right[i] {
			b.WriteString(pad + c + "  ")
		} else {
			b.WriteString(c + pad + "  ")
		}
	}
	for i, h := range header {
		if i == len(header)-1 {
			b.WriteString(h)
		} else {
			cell(i, h)
		}
	}
	b.WriteString("\n")
	for _, r := range rows {
		for i, c := range r {
			cell(i, c)
		}
		b.WriteString("\n")
	}
	return b.String()
}
