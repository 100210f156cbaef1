package configs

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EnvPrefix starts the name of every environment variable that sets an option.
const EnvPrefix = "AVEROS_AUTH_"

// Secret kinds, the values of the secret struct tag.
const (
	secretValue = "value" // the whole value is secret
	secretURI   = "uri"   // the password inside the URI is secret
)

var durationType = reflect.TypeFor[time.Duration]()

// option is one leaf field of Config.
type option struct {
	path   string // yaml path, such as "tokens.access-token-lifetime"; also the flag name
	index  []int  // field index for reflect.Value.FieldByIndex
	typ    reflect.Type
	usage  string
	secret string // "", secretValue or secretURI
	// arg names the value in help text, such as host:port, in place of the type name.
	arg string
}

// env returns the environment variable that sets the option.
func (o option) env() string {
	name := strings.NewReplacer(".", "_", "-", "_").Replace(o.path)
	return EnvPrefix + strings.ToUpper(name)
}

// field returns the option's field inside the Config that root points to.
func (o option) field(root reflect.Value) reflect.Value {
	return root.Elem().FieldByIndex(o.index)
}

// allOptions lists every option of Config in declaration order.
var allOptions = sync.OnceValue(func() []option {
	var out []option
	collectOptions(reflect.TypeFor[Config](), "", nil, &out)
	return out
})

func collectOptions(t reflect.Type, prefix string, index []int, out *[]option) {
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("yaml")
		if name == "" || name == "-" {
			continue
		}
		path := prefix + name
		fieldIndex := append(append([]int(nil), index...), i)
		if f.Type.Kind() == reflect.Struct && f.Type != durationType {
			collectOptions(f.Type, path+".", fieldIndex, out)
			continue
		}
		*out = append(*out, option{
			path:   path,
			index:  fieldIndex,
			typ:    f.Type,
			usage:  f.Tag.Get("usage"),
			secret: f.Tag.Get("secret"),
			arg:    f.Tag.Get("arg"),
		})
	}
}

// lookupOption returns the option with the given yaml path.
func lookupOption(path string) (option, bool) {
	for _, o := range allOptions() {
		if o.path == path {
			return o, true
		}
	}
	return option{}, false
}

// valueName returns the name of the option's value in help text, in the style of
// flag.PrintDefaults: the arg tag, else duration, int, list or string, and "" for a bool,
// which takes no value.
func (o option) valueName() string {
	switch {
	case o.arg != "":
		return o.arg
	case o.typ == durationType:
		return "duration"
	case o.typ.Kind() == reflect.Bool:
		return ""
	case o.typ.Kind() == reflect.Int || o.typ.Kind() == reflect.Int64:
		return "int"
	case o.typ.Kind() == reflect.Slice:
		return ListValueName
	default:
		return "string"
	}
}

// ListValueName is the value name of every list flag in help text, so that a command can
// tell list flags from others.
const ListValueName = "list"

// expected describes the accepted text form of a value of type t, for error messages.
func expected(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a Go duration such as 90s, 15m or 720h"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return "an integer"
	case t.Kind() == reflect.Slice:
		return "a list of strings"
	default:
		return "a string"
	}
}

// setText parses text into field, which has one of the option types of Config. A list is
// comma-separated; blanks around items are dropped, and so are empty items.
func setText(field reflect.Value, text string) error {
	t := field.Type()
	switch {
	case t == durationType:
		d, err := time.ParseDuration(text)
		if err != nil {
			return errors.New("expected " + expected(t))
		}
		field.SetInt(int64(d))
	case t.Kind() == reflect.String:
		field.SetString(text)
	case t.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return errors.New("expected " + expected(t))
		}
		field.SetBool(b)
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil || field.OverflowInt(n) {
			return errors.New("expected " + expected(t))
		}
		field.SetInt(n)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		field.Set(reflect.ValueOf(splitList(text)))
	default:
		return fmt.Errorf("unsupported option type %s", t)
	}
	return nil
}

func splitList(text string) []string {
	items := []string{}
	for item := range strings.SplitSeq(text, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// formatText returns field in the text form that setText accepts.
func formatText(field reflect.Value) string {
	switch {
	case field.Type() == durationType:
		return formatDuration(time.Duration(field.Int()))
	case field.Kind() == reflect.Slice:
		return strings.Join(field.Interface().([]string), ",")
	default:
		return fmt.Sprint(field.Interface())
	}
}

// formatDuration writes d without zero trailing units: 720h instead of 720h0m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
