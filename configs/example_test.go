package configs

import (
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const exampleFile = "averos-auth.example.yaml"

// yamlPaths walks the yaml tags of Config and returns the path of every option. It is
// written independently of the package's own option list, so that the tests check it.
func yamlPaths(t *testing.T) []string {
	t.Helper()
	var paths []string
	var walk func(reflect.Type, string)
	walk = func(typ reflect.Type, prefix string) {
		for i := range typ.NumField() {
			field := typ.Field(i)
			tag := field.Tag.Get("yaml")
			if tag == "-" {
				continue
			}
			if tag == "" {
				t.Errorf("field %s.%s has no yaml tag", typ.Name(), field.Name)
				continue
			}
			if field.Type.Kind() == reflect.Struct && field.Type != reflect.TypeFor[time.Duration]() {
				walk(field.Type, prefix+tag+".")
				continue
			}
			paths = append(paths, prefix+tag)
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return paths
}

// documentPaths returns the path of every leaf key in a YAML document.
func documentPaths(n *yaml.Node, prefix string) []string {
	if n.Kind == yaml.DocumentNode {
		return documentPaths(n.Content[0], prefix)
	}
	var paths []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		if value.Kind == yaml.MappingNode {
			paths = append(paths, documentPaths(value, prefix+key.Value+".")...)
		} else {
			paths = append(paths, prefix+key.Value)
		}
	}
	return paths
}

func TestExampleDocumentsEveryOption(t *testing.T) {
	data, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	documented := documentPaths(&doc, "")

	for _, path := range yamlPaths(t) {
		if !slices.Contains(documented, path) {
			t.Errorf("option %s is missing from %s", path, exampleFile)
		}
	}
	for _, path := range allOptions() {
		if !slices.Contains(yamlPaths(t), path.path) {
			t.Errorf("package option list has %s, which is not a yaml path of Config", path.path)
		}
	}
}

func TestExampleHasDefaultValues(t *testing.T) {
	fromExample := mustLoad(t, nil, []string{ConfigEnv + "=" + exampleFile})
	fromDefaults := mustLoad(t, nil, nil)

	fromExample.File = ""
	if !reflect.DeepEqual(fromExample, fromDefaults) {
		t.Errorf("example file differs from the defaults:\nexample:  %v\ndefaults: %v", fromExample, fromDefaults)
	}
}
