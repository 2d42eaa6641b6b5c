package jsonhash

import "testing"

func TestMD5(t *testing.T) {
	type typed struct {
		B int    `json:"b"`
		A string `json:"a"`
	}
	cases := []struct {
		name string
		a, b any
		same bool
	}{
		{name: "maps in any key order hash alike", a: map[string]any{"a": "x", "b": int64(1)}, b: map[string]any{"b": int64(1), "a": "x"}, same: true},
		{name: "a typed value hashes as its JSON", a: typed{A: "x", B: 1}, b: map[string]any{"a": "x", "b": 1.0}, same: true},
		{name: "another value hashes differently", a: map[string]any{"a": "x"}, b: map[string]any{"a": "y"}},
		{name: "a number and its string hash differently", a: map[string]any{"a": 1}, b: map[string]any{"a": "1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ha, err := MD5(tc.a)
			if err != nil {
				t.Fatal(err)
			}
			hb, err := MD5(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if (ha == hb) != tc.same {
				t.Errorf("MD5(%v) = %s, MD5(%v) = %s; same = %t, want %t", tc.a, ha, tc.b, hb, ha == hb, tc.same)
			}
		})
	}
}

func TestMD5IsKubeFedsTemplateVersion(t *testing.T) {
	// The hex MD5 of `{"data":{"k":"v"}}` followed by a newline.
	got, err := MD5(map[string]any{"data": map[string]any{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "86d7340b476552a96d857c5b58aace45"; got != want {
		t.Errorf("MD5 = %s, want %s", got, want)
	}
}
