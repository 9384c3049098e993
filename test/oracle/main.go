// Command oracle renders Go text/template cases with Sprig, as the reference for the TypeScript engine.
//
// Input (stdin): a JSON array of cases:
//
//	{"name", "template", "data", "missingkey", "funcs", "mgmtResources"}
//
// Numbers in data written without a fraction or exponent decode as int64 (as Kubernetes unstructured
// objects hold them); the others as float64. "missingkey" is error (default), zero or default.
// "funcs" is "none" (builtins only), "sprig" (sprig.TxtFuncMap, the default) or "sveltos" (sprig plus the functions Sveltos
// adds: toYaml, fromYaml, toToml, getResource, setField, ...). "mgmtResources" feeds getResource and
// friends; those functions follow the addon-controller's template instantiation.
//
// Output (stdout): a JSON array of {"output"} or {"error"}, one per case, in order.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"

	"github.com/BurntSushi/toml"
	"github.com/Masterminds/sprig"
	"sigs.k8s.io/yaml"
)

type testCase struct {
	Name          string          `json:"name"`
	Template      string          `json:"template"`
	Data          json.RawMessage `json:"data"`
	MissingKey    string          `json:"missingkey"`
	Funcs         string          `json:"funcs"`
	MgmtResources json.RawMessage `json:"mgmtResources"`
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

func decode(raw json.RawMessage) (interface{}, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var data interface{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil {
		return nil, fmt.Errorf("oracle: bad data: %v", err)
	}
	return convert(data), nil
}

// sveltosExtra mirrors libsveltos lib/funcmap: thin wrappers over sigs.k8s.io/yaml, BurntSushi/toml
// and encoding/json that swallow errors.
func sveltosExtra() template.FuncMap {
	return template.FuncMap{
		"toToml": func(v interface{}) string {
			b := bytes.NewBuffer(nil)
			if err := toml.NewEncoder(b).Encode(v); err != nil {
				return err.Error()
			}
			return b.String()
		},
		"fromToml": func(s string) map[string]interface{} {
			m := make(map[string]interface{})
			if err := toml.Unmarshal([]byte(s), &m); err != nil {
				m["Error"] = err.Error()
			}
			return m
		},
		"toYaml": func(v interface{}) string {
			data, err := yaml.Marshal(v)
			if err != nil {
				return ""
			}
			return strings.TrimSuffix(string(data), "\n")
		},
		"fromYaml": func(s string) map[string]interface{} {
			m := map[string]interface{}{}
			if err := yaml.Unmarshal([]byte(s), &m); err != nil {
				m["Error"] = err.Error()
			}
			return m
		},
		"fromYamlArray": func(s string) []interface{} {
			a := []interface{}{}
			if err := yaml.Unmarshal([]byte(s), &a); err != nil {
				a = []interface{}{err.Error()}
			}
			return a
		},
		"toJson": func(v interface{}) string {
			data, err := json.Marshal(v)
			if err != nil {
				return ""
			}
			return string(data)
		},
		"fromJson": func(s string) map[string]interface{} {
			m := make(map[string]interface{})
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				m["Error"] = err.Error()
			}
			return m
		},
		"fromJsonArray": func(s string) []interface{} {
			a := []interface{}{}
			if err := json.Unmarshal([]byte(s), &a); err != nil {
				a = []interface{}{err.Error()}
			}
			return a
		},
	}
}

// deepCopyJSON copies JSON-typed values and panics on anything else, as apimachinery's
// runtime.DeepCopyJSONValue does.
func deepCopyJSON(x interface{}) interface{} {
	switch x := x.(type) {
	case map[string]interface{}:
		if x == nil {
			return x
		}
		c := make(map[string]interface{}, len(x))
		for k, v := range x {
			c[k] = deepCopyJSON(v)
		}
		return c
	case []interface{}:
		if x == nil {
			return x
		}
		c := make([]interface{}, len(x))
		for i, v := range x {
			c[i] = deepCopyJSON(v)
		}
		return c
	case string, int64, bool, float64, nil, json.Number:
		return x
	default:
		panic(fmt.Errorf("cannot deep copy %T", x))
	}
}

func nestedField(obj map[string]interface{}, fields []string) (interface{}, bool, error) {
	var val interface{} = obj
	for i, f := range fields {
		if val == nil {
			return nil, false, nil
		}
		m, ok := val.(map[string]interface{})
		if !ok {
			return nil, false, fmt.Errorf(".%s accessor error: %v is of the type %T, expected map[string]interface{}",
				strings.Join(fields[:i+1], "."), val, val)
		}
		if val, ok = m[f]; !ok {
			return nil, false, nil
		}
	}
	return val, true, nil
}

func setNested(obj map[string]interface{}, value interface{}, fields []string) error {
	value = deepCopyJSON(value)
	m := obj
	for i, f := range fields[:len(fields)-1] {
		if v, ok := m[f]; ok {
			vm, ok := v.(map[string]interface{})
			if !ok {
				return fmt.Errorf("value cannot be set because .%s is not a map[string]interface{}", strings.Join(fields[:i+1], "."))
			}
			m = vm
		} else {
			n := map[string]interface{}{}
			m[f] = n
			m = n
		}
	}
	m[fields[len(fields)-1]] = value
	return nil
}

func removeNested(obj map[string]interface{}, fields []string) {
	m := obj
	for _, f := range fields[:len(fields)-1] {
		x, ok := m[f].(map[string]interface{})
		if !ok {
			return
		}
		m = x
	}
	delete(m, fields[len(fields)-1])
}

// resetFields drops managedFields, resourceVersion and uid in place, as the addon-controller does
// through unstructured.Unstructured setters that share the map.
func resetFields(u map[string]interface{}) map[string]interface{} {
	removeNested(u, []string{"metadata", "managedFields"})
	removeNested(u, []string{"metadata", "resourceVersion"})
	removeNested(u, []string{"metadata", "uid"})
	return u
}

func yamlString(u map[string]interface{}) string {
	data, err := yaml.Marshal(u)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

// resourceFuncs follows the closures the addon-controller adds for templateResourceRefs.
func resourceFuncs(res map[string]map[string]interface{}) template.FuncMap {
	return template.FuncMap{
		"getResource": func(id string) map[string]interface{} {
			u, ok := res[id]
			if !ok {
				return nil
			}
			return resetFields(u)
		},
		"copy": func(id string) string {
			u, ok := res[id]
			if !ok {
				return ""
			}
			return yamlString(resetFields(u))
		},
		"getField": func(id string, fields string) interface{} {
			u, ok := res[id]
			if !ok {
				return ""
			}
			v, found, err := nestedField(u, strings.Split(fields, "."))
			if err != nil || !found {
				return ""
			}
			return deepCopyJSON(v)
		},
		"removeField": func(id, fields string) string {
			u, ok := res[id]
			if !ok {
				return ""
			}
			removeNested(u, strings.Split(fields, "."))
			return yamlString(resetFields(u))
		},
		"setField": func(id, fields string, value any) string {
			u, ok := res[id]
			if !ok {
				return ""
			}
			if err := setNested(u, value, strings.Split(fields, ".")); err != nil {
				return ""
			}
			return yamlString(resetFields(u))
		},
		"chainRemoveField": func(u map[string]interface{}, fields string) map[string]interface{} {
			removeNested(u, strings.Split(fields, "."))
			return u
		},
		"chainSetField": func(u map[string]interface{}, fields string, value any) map[string]interface{} {
			if err := setNested(u, value, strings.Split(fields, ".")); err != nil {
				return nil
			}
			return u
		},
	}
}

func render(c testCase) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	data, err := decode(c.Data)
	if err != nil {
		return "", err
	}
	name := c.Name
	if name == "" {
		name = "t"
	}
	missing := c.MissingKey
	if missing == "" {
		missing = "error"
	}
	funcs := sprig.TxtFuncMap()
	switch c.Funcs {
	case "none":
		funcs = template.FuncMap{}
	case "", "sprig":
	case "sveltos":
		rawRes, err := decode(c.MgmtResources)
		if err != nil {
			return "", err
		}
		res := map[string]map[string]interface{}{}
		if m, ok := rawRes.(map[string]interface{}); ok {
			for k, v := range m {
				if u, ok := v.(map[string]interface{}); ok {
					res[k] = u
				}
			}
		}
		for k, v := range sveltosExtra() {
			funcs[k] = v
		}
		for k, v := range resourceFuncs(res) {
			funcs[k] = v
		}
	default:
		return "", fmt.Errorf("oracle: unknown funcs %q", c.Funcs)
	}
	t, err := template.New(name).Option("missingkey=" + missing).Funcs(funcs).Parse(c.Template)
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
