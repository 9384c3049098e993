// Command yamlscalar resolves plain YAML scalars as Kubernetes reads them, as the reference for our loader.
//
// Input (stdin): a JSON array of strings, each a plain scalar. Each is read as the document
// "v: <scalar>" by sigs.k8s.io/yaml's YAMLToJSON (go-yaml v2, then the JSON conversion).
//
// Output (stdout): a JSON array of {"json"} (the JSON text of the document) or {"error"}, in order.
package main

import (
	"encoding/json"
	"os"

	"sigs.k8s.io/yaml"
)

type result struct {
	JSON  *string `json:"json,omitempty"`
	Error *string `json:"error,omitempty"`
}

func main() {
	var in []string
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		panic(err)
	}
	out := make([]result, len(in))
	for i, s := range in {
		j, err := yaml.YAMLToJSON([]byte("v: " + s + "\n"))
		if err != nil {
			e := err.Error()
			out[i].Error = &e
		} else {
			t := string(j)
			out[i].JSON = &t
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		panic(err)
	}
}
