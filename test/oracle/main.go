// Command oracle renders Go text/template cases with Sprig, as the reference for the TypeScript engine.
//
// Input (stdin): a JSON array of {"name", "template", "data"}. Numbers in data written without a
// fraction or exponent decode as int64 (as Kubernetes unstructured objects hold them); the others as
// float64. Output (stdout): a JSON array of {"output"} or {"error"}, one per case, in order.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
)

type testCase struct {
	Name     string          `json:"name"`
	Template string          `json:"template"`
	Data     json.RawMessage `json:"data"`
}

type result struct {
	Output *string `json:"output,omitempty"`
	Error  *string `json:"error,omitempty"`
}

func convert(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		for k, e := range t {
			t[k] = convert(e)
		}
		return t
	case []interface{}:
		for i, e := range t {
			t[i] = convert(e)
		}
		return t
	case json.Number:
		s := string(t)
		if strings.ContainsAny(s, ".eE") {
			f, _ := t.Float64()
			return f
		}
		i, err := t.Int64()
		if err != nil {
			f, _ := t.Float64()
			return f
		}
		return i
	}
	return v
}

func render(c testCase) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	var data interface{}
	if len(c.Data) > 0 {
		dec := json.NewDecoder(bytes.NewReader(c.Data))
		dec.UseNumber()
		if err := dec.Decode(&data); err != nil {
			return "", fmt.Errorf("oracle: bad data: %v", err)
		}
		data = convert(data)
	}
	name := c.Name
	if name == "" {
		name = "t"
	}
	t, err := template.New(name).Option("missingkey=error").Funcs(sprig.TxtFuncMap()).Parse(c.Template)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func main() {
	var cases []testCase
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		fmt.Fprintf(os.Stderr, "oracle: reading cases: %v\n", err)
		os.Exit(1)
	}
	results := make([]result, len(cases))
	for i, c := range cases {
		out, err := render(c)
		if err != nil {
			msg := err.Error()
			results[i].Error = &msg
		} else {
			results[i].Output = &out
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(results); err != nil {
		fmt.Fprintf(os.Stderr, "oracle: writing results: %v\n", err)
		os.Exit(1)
	}
}
