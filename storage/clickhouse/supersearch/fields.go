package supersearch

import "github.com/crashstream/crashstream/schemas/fields"

// FromRegistry returns the searchable fields of the field registry: every
// field marked searchable with a ClickHouse column, protected ones included
// (Parse drops them for callers without view_pii).
func FromRegistry(reg *fields.Registry) Fields {
	out := Fields{}
	for _, f := range reg.Searchable() {
		if f.ClickHouseColumn == "" {
			continue
		}
		var t Type
		switch f.Type {
		case fields.String:
			t = String
		case fields.Int, fields.Float:
			t = Number
		case fields.Bool:
			t = Bool
		case fields.Date:
			t = Date
		case fields.List:
			t = List
		default:
			continue
		}
		out[f.Name] = Field{Name: f.Name, Column: f.ClickHouseColumn, Type: t, Protected: !f.IsPublic()}
	}
	return out
}
