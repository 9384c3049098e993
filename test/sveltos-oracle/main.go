// Command sveltos-oracle computes, with the Go standard library and go-yaml v2 only, what
// libsveltos writes into a ConfigurationBundle for a list of objects: each object as
// sigs.k8s.io/yaml.Marshal renders it (json.Marshal, decode the JSON with go-yaml v2 into
// interface{}, encode with go-yaml v2) and the bundle hash (sha256 over json.Marshal of every
// object, concatenated). It is the reference for src/resolve/goyaml.ts and gojson.ts.
//
// Input (stdin): a JSON array of cases {"name", "objects": [...]}; numbers decode as float64,
// as they do after sigs.k8s.io/yaml.Unmarshal into a map. Output (stdout): a JSON array of
// {"name", "yaml": [...], "json": [...], "hash": "<base64>"} or {"name", "error"}.
//
// Run: GOPATH=/usr/share/gocode GO111MODULE=off go run test/sveltos-oracle/main.go < cases.json
package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"

	"gopkg.in/yaml.v2"
)

type testCase struct {
	Name    string        `json:"name"`
	Objects []interface{} `json:"objects"`
}

type result struct {
	Name  string   `json:"name"`
	YAML  []string `json:"yaml,omitempty"`
	JSON  []string `json:"json,omitempty"`
	Hash  string   `json:"hash,omitempty"`
	Error string   `json:"error,omitempty"`
}

// sigsMarshal is sigs.k8s.io/yaml.Marshal: JSON first, then JSONToYAML.
func sigsMarshal(o interface{}) ([]byte, error) {
	j, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	var jsonObj interface{}
	if err := yaml.Unmarshal(j, &jsonObj); err != nil {
		return nil, err
	}
	return yaml.Marshal(jsonObj)
}

func run(c testCase) result {
	r := result{Name: c.Name}
	h := sha256.New()
	for _, o := range c.Objects {
		y, err := sigsMarshal(o)
		if err != nil {
			r.Error = err.Error()
			return r
		}
		j, err := json.Marshal(o)
		if err != nil {
			r.Error = err.Error()
			return r
		}
		h.Write(j)
		r.YAML = append(r.YAML, string(y))
		r.JSON = append(r.JSON, string(j))
	}
	r.Hash = base64.StdEncoding.EncodeToString(h.Sum(nil))
	return r
}

func main() {
	var cases []testCase
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out := make([]result, 0, len(cases))
	for _, c := range cases {
		out = append(out, run(c))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
