package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"iolab/models"
)

type modelsOptions struct {
	json bool
}

func init() { commands = append(commands, newModelsCmd) }

func newModelsCmd() *cobra.Command {
	o := &modelsOptions{}
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List the I/O cores, the reference peers, and their knobs",
		Long: `List every registered I/O core, and the reference peers (net/http, fasthttp),
with their knobs: name, type, default, allowed values and what it does. The
knobs listed first are common to every model. Set them with
'iolab serve --knob NAME=VALUE'.`,
		Example: `  iolab models
  iolab models --json | jq '.models[].name'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.OutOrStdout()) },
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print as JSON")
	return cmd
}

type knobJSON struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Default string `json:"default"`
	Allowed string `json:"allowed"`
	Doc     string `json:"doc"`
}

type modelJSON struct {
	Name        string     `json:"name"`
	Doc         string     `json:"doc"`
	Peer        bool       `json:"peer,omitempty"`
	Available   bool       `json:"available"`
	Unavailable string     `json:"unavailable,omitempty"`
	Knobs       []knobJSON `json:"knobs"`
	Variants    []string   `json:"variants,omitempty"`
}

func knobsJSON(ks []models.Knob) []knobJSON {
	out := make([]knobJSON, 0, len(ks))
	for _, k := range ks {
		out = append(out, knobJSON{k.Name, k.Kind.String(), k.Default, k.Allowed(), k.Doc})
	}
	return out
}

func (o *modelsOptions) run(w io.Writer) error {
	var list []modelJSON
	for _, name := range models.Names() {
		m, _ := models.Lookup(name)
		mj := modelJSON{Name: m.Name, Doc: m.Doc, Peer: m.Peer, Available: true, Knobs: knobsJSON(m.Knobs)}
		if m.Available != nil {
			if err := m.Available(); err != nil {
				mj.Available, mj.Unavailable = false, err.Error()
			}
		}
		for _, v := range m.Variants {
			mj.Variants = append(mj.Variants, v.Name+": "+strings.Join(v.Knobs, " "))
		}
		list = append(list, mj)
	}
	if o.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			CommonKnobs []knobJSON  `json:"common_knobs"`
			Models      []modelJSON `json:"models"`
		}{knobsJSON(models.CommonKnobs), list})
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	table := func(ks []knobJSON) {
		for _, k := range ks {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", k.Name, k.Kind, k.Default, k.Allowed, k.Doc)
		}
	}
	fmt.Fprintln(tw, "Knobs of every model:")
	fmt.Fprintln(tw, "  NAME\tTYPE\tDEFAULT\tALLOWED\tDOC")
	table(knobsJSON(models.CommonKnobs))
	for _, m := range list {
		fmt.Fprintf(tw, "\n%s: %s\n", m.Name, m.Doc)
		if !m.Available {
			fmt.Fprintf(tw, "  (unavailable here: %s)\n", m.Unavailable)
		}
		if len(m.Knobs) == 0 {
			fmt.Fprintln(tw, "  no knobs of its own")
			continue
		}
		table(m.Knobs)
	}
	return tw.Flush()
}
