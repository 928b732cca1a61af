package plugins

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

type testAddress struct {
	Street string `json:"street" jsonschema:"description=Street and number"`
	Zip    string `json:"zip,omitempty"`
}

type testBooking struct {
	Name     string       `json:"name" jsonschema:"description=Caller's full name"`
	Party    int          `json:"party" jsonschema:"minimum=1"`
	Seating  string       `json:"seating,omitempty" jsonschema:"enum=indoor,enum=outdoor"`
	Address  testAddress  `json:"address"`
	Billing  *testAddress `json:"billing,omitempty"`
	Tags     []string     `json:"tags,omitempty"`
	Note     *string      `json:"note,omitempty" jsonschema_description:"Anything else, commas and all"`
	Callback bool         `json:"callback,omitempty" jsonschema:"required"`
	Extra    any          `json:"extra,omitempty"`
	Hidden   string       `json:"-"`
	internal string
}

type testTree struct {
	Label string     `json:"label"`
	Kids  []testTree `json:"kids,omitempty"`
}

// sameJSON compares JSON documents ignoring key order and formatting.
func sameJSON(t *testing.T, got, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

func TestSchemaFor(t *testing.T) {
	address := `{"type":"object","properties":{
		"street":{"type":"string","description":"Street and number"},
		"zip":{"type":"string"}},
		"required":["street"],"additionalProperties":false}`
	tests := []struct {
		name   string
		schema func() (json.RawMessage, error)
		want   string
		err    error
	}{
		{
			name:   "required, optional, enum, nested, described",
			schema: SchemaFor[testBooking],
			want: `{"type":"object","properties":{
				"name":{"type":"string","description":"Caller's full name"},
				"party":{"type":"integer","minimum":1},
				"seating":{"type":"string","enum":["indoor","outdoor"]},
				"address":` + address + `,
				"billing":` + address + `,
				"tags":{"type":"array","items":{"type":"string"}},
				"note":{"type":"string","description":"Anything else, commas and all"},
				"callback":{"type":"boolean"},
				"extra":{}},
				"required":["name","party","address","callback"],
				"additionalProperties":false}`,
		},
		{
			name:   "pointer to struct is the struct",
			schema: SchemaFor[*testAddress],
			want:   address,
		},
		{
			name:   "no arguments",
			schema: SchemaFor[struct{}],
			want:   `{"type":"object","properties":{},"additionalProperties":false}`,
		},
		{
			name:   "map",
			schema: SchemaFor[map[string]int],
			want:   `{"type":"object","additionalProperties":{"type":"integer"}}`,
		},
		{
			name:   "recursive type keeps $defs",
			schema: SchemaFor[testTree],
			want: `{"type":"object","properties":{
				"label":{"type":"string"},
				"kids":{"type":"array","items":{"$ref":"#/$defs/testTree"}}},
				"required":["label"],"additionalProperties":false,
				"$defs":{"testTree":{"type":"object","properties":{
					"label":{"type":"string"},
					"kids":{"type":"array","items":{"$ref":"#/$defs/testTree"}}},
					"required":["label"],"additionalProperties":false}}}`,
		},
		{name: "not an object", schema: SchemaFor[string], err: ErrBadSchema},
		{name: "list is not an object", schema: SchemaFor[[]int], err: ErrBadSchema},
		{name: "unencodable field", schema: SchemaFor[struct{ C chan int }], err: ErrBadSchema},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.schema()
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(t, string(got), tt.want) {
				t.Errorf("schema =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
