package admin

import (
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestParseFilterRejects(t *testing.T) {
	cases := []struct {
		name   string
		filter string
		want   string
	}{
		{"not JSON", `{"userName":`, "filter is not valid JSON"},
		{"plain text", `userName=ada`, "filter is not valid JSON"},
		{"array", `[{"userName":{"$eq":"ada"}}]`, "filter must be a JSON object"},
		{"trailing data", `{"userName":"ada"} {}`, "data after the JSON object"},
		{"unknown field", `{"passwordHash":{"$eq":"x"}}`, `unknown field "passwordHash"`},
		{"dotted field", `{"roles.name":{"$eq":"x"}}`, `unknown field "roles.name"`},
		{"where", `{"$where":"sleep(1000)"}`, "operator $where is not supported at the top level"},
		{"top-level or", `{"$or":[{"userName":"a"},{"userName":"b"}]}`, "operator $or is not supported"},
		{"nested or", `{"userName":{"$or":[{"$eq":"a"}]}}`, `operator "$or" is not supported on userName`},
		{"unknown operator", `{"userName":{"$exists":"true"}}`, `operator "$exists" is not supported`},
		{"operator object as value", `{"userName":{"$eq":{"$ne":""}}}`, "userName.$eq must be a string, not an object"},
		{"number value", `{"userName":{"$eq":5}}`, "userName.$eq must be a string, not a number"},
		{"null value", `{"userName":{"$eq":null}}`, "userName.$eq must be a string, not a null"},
		{"array for eq", `{"userName":{"$eq":["a"]}}`, "userName.$eq must be a string, not an array"},
		{"string for in", `{"_id":{"$in":"a"}}`, "_id.$in must be an array, not a string"},
		{"object in list", `{"_id":{"$in":["a",{"$gt":""}]}}`, "_id.$in[1] must be a string, not an object"},
		{"number field value", `{"userName":7}`, "userName must be an object of operators or a string"},
		{"empty operator object", `{"userName":{}}`, "userName has no operator"},
		{"duplicate field", `{"userName":"a","userName":"b"}`, `contains the key "userName" twice`},
		{"duplicate operator", `{"userName":{"$eq":"a","$eq":"b"}}`, `contains the key "$eq" twice`},
		{"regex on date", `{"createdAt":{"$regex":"2025"}}`, `operator "$regex" is not supported on createdAt`},
		{"gt on boolean", `{"accountVerified":{"$gt":"false"}}`, `operator "$gt" is not supported on accountVerified`},
		{"bad boolean", `{"accountVerified":{"$eq":"yes"}}`, `must be true or false, not "yes"`},
		{"bad date", `{"createdAt":{"$gte":"yesterday"}}`, "createdAt.$gte: invalid date"},
		{"long value", `{"city":{"$eq":"` + strings.Repeat("x", maxFilterValueBytes+1) + `"}}`, "longer than 1024 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conds, err := parseFilter(tc.filter, userFilterSchema)
			if err == nil {
				t.Fatalf("parseFilter accepted %s as %v", tc.filter, conds)
			}
			if _, ok := err.(*inputError); !ok {
				t.Errorf("err = %T, want *inputError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseFilterLimits(t *testing.T) {
	values := make([]string, maxFilterListValues+1)
	for i := range values {
		values[i] = `"x"`
	}
	_, err := parseFilter(`{"_id":{"$in":[`+strings.Join(values, ",")+`]}}`, userFilterSchema)
	if err == nil || !strings.Contains(err.Error(), "more than 1000 values") {
		t.Errorf("err = %v, want too many values", err)
	}

	// Six fields with six operators each make 36 conditions.
	fields := []string{"userName", "email", "firstName", "lastName", "city", "gender"}
	var parts []string
	for _, f := range fields {
		parts = append(parts, `"`+f+`":{"$eq":"a","$ne":"b","$gt":"c","$gte":"d","$lt":"e","$lte":"f"}`)
	}
	_, err = parseFilter("{"+strings.Join(parts, ",")+"}", userFilterSchema)
	if err == nil || !strings.Contains(err.Error(), "more than 32 conditions") {
		t.Errorf("err = %v, want too many conditions", err)
	}
}

func TestParseFilterAccepts(t *testing.T) {
	conds, err := parseFilter(`{"userName":{"$eq":"Ada"}, "email":{"$in":["Ada@Example.COM"]}, "city":"Paris"}`, userFilterSchema)
	if err != nil {
		t.Fatal(err)
	}
	want := []condition{
		{field: "userName", op: opEq, values: []string{"Ada"}},
		{field: "email", op: opIn, values: []string{"ada@example.com"}},
		{field: "city", op: opEq, values: []string{"Paris"}},
	}
	if len(conds) != len(want) {
		t.Fatalf("conds = %v, want %v", conds, want)
	}
	for i := range want {
		if conds[i].field != want[i].field || conds[i].op != want[i].op ||
			strings.Join(conds[i].values, ",") != strings.Join(want[i].values, ",") {
			t.Errorf("conds[%d] = %v, want %v", i, conds[i], want[i])
		}
	}

	for _, empty := range []string{"", "  ", "{}"} {
		conds, err := parseFilter(empty, userFilterSchema)
		if err != nil || len(conds) != 0 {
			t.Errorf("parseFilter(%q) = %v, %v; want no conditions", empty, conds, err)
		}
	}
}

func TestBuildQueryEscapesRegex(t *testing.T) {
	conds, err := parseFilter(`{"userName":{"$regex":".*(a+)+$"}}`, userFilterSchema)
	if err != nil {
		t.Fatal(err)
	}
	got := buildQuery(conds, userFilterSchema, time.Now())
	want := bson.D{{Key: "userName", Value: bson.D{
		{Key: "$regex", Value: `\.\*\(a\+\)\+\$`},
		{Key: "$options", Value: "i"},
	}}}
	gotJSON, _ := bson.MarshalExtJSON(got, false, false)
	wantJSON, _ := bson.MarshalExtJSON(want, false, false)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("query = %s, want %s", gotJSON, wantJSON)
	}
}

func TestParseDateValue(t *testing.T) {
	cases := []struct {
		text       string
		start, end string
	}{
		{"Thu Dec 04 2025 16:32:00 GMT+0100 (Central European Standard Time)",
			"2025-12-04T15:32:00Z", "2025-12-04T15:32:01Z"},
		{"Thu Dec 04 2025 16:32:00 GMT+0100", "2025-12-04T15:32:00Z", "2025-12-04T15:32:01Z"},
		{"2025-12-04T15:32:00Z", "2025-12-04T15:32:00Z", "2025-12-04T15:32:01Z"},
		{"2025-12-04T16:32:00.25+01:00", "2025-12-04T15:32:00.25Z", "2025-12-04T15:32:00.26Z"},
		{"2025-12-04T15:32:00.123456Z", "2025-12-04T15:32:00.123Z", "2025-12-04T15:32:00.124Z"},
		{"2025-12-04", "2025-12-04T00:00:00Z", "2025-12-05T00:00:00Z"},
		{"Thu, 04 Dec 2025 15:32:00 GMT", "2025-12-04T15:32:00Z", "2025-12-04T15:32:01Z"},
	}
	for _, tc := range cases {
		start, end, err := parseDateValue(tc.text)
		if err != nil {
			t.Errorf("parseDateValue(%q): %v", tc.text, err)
			continue
		}
		if got := start.Format(time.RFC3339Nano); got != tc.start {
			t.Errorf("parseDateValue(%q) start = %s, want %s", tc.text, got, tc.start)
		}
		if got := end.Format(time.RFC3339Nano); got != tc.end {
			t.Errorf("parseDateValue(%q) end = %s, want %s", tc.text, got, tc.end)
		}
	}
	for _, bad := range []string{"", "tomorrow", "2025-13-01", "Thu Dec 04 2025"} {
		if _, _, err := parseDateValue(bad); err == nil {
			t.Errorf("parseDateValue(%q) succeeded", bad)
		}
	}
}
