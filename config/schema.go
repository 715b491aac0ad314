// SPDX-License-Identifier: GPL-3.0-or-later

package config

import (
	"fmt"
	"reflect"
	"strconv"
)

// schema is what one Parse decodes into: Config's tables plus one field
// per network table (of the type its Section returns), and [[tree]] and
// [[user]] with the networks' keys. It is a struct type built at run time,
// so that go-toml decodes the whole document strictly in one pass: an
// unknown key or a wrong type inside a network's table is a problem with
// its line like any other.
type schema struct {
	nets []Network
	root reflect.Type
	// tree and user are the decoding types of one [[tree]] and [[user]].
	tree, user reflect.Type
}

// keyField names the run-time field that holds what network i registered
// (its table, or its [[tree]] or [[user]] key).
func keyField(i int) string { return "Key" + strconv.Itoa(i) }

// newSchema builds the decoding type for nets. Two networks with the same
// name, table or key, or a network key that is also a shared one, are a
// mistake of the program, reported as an error.
func newSchema(nets []Network) (*schema, error) {
	s := &schema{nets: nets}
	names := map[string]bool{}
	for _, n := range nets {
		if n.Name == "" || names[n.Name] {
			return nil, fmt.Errorf("network %q is registered twice or has no name", n.Name)
		}
		names[n.Name] = true
	}
	var err error
	s.tree, err = extend(reflect.TypeFor[Tree](), nets, func(n Network) (string, reflect.Type) {
		if n.Tree == nil {
			return "", nil
		}
		return n.Tree.Key, reflect.TypeFor[[]string]()
	})
	if err != nil {
		return nil, fmt.Errorf("[[tree]]: %w", err)
	}
	s.user, err = extend(reflect.TypeFor[User](), nets, func(n Network) (string, reflect.Type) {
		if n.User == nil {
			return "", nil
		}
		return n.User.Key, reflect.TypeFor[string]()
	})
	if err != nil {
		return nil, fmt.Errorf("[[user]]: %w", err)
	}
	s.root, err = extend(reflect.TypeFor[Config](), nets, func(n Network) (string, reflect.Type) {
		if n.Table == "" || n.Section == nil {
			return "", nil
		}
		t := reflect.TypeOf(n.Section())
		if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
			return n.Table, nil
		}
		return n.Table, t
	})
	if err != nil {
		return nil, err
	}
	s.root = s.withLists()
	return s, nil
}

// extend returns a struct type with base's TOML fields (Trees and Users of
// the extended types) and, for each network, the field that key gives
// (none when its name is "").
func extend(base reflect.Type, nets []Network, key func(Network) (string, reflect.Type)) (reflect.Type, error) {
	var fields []reflect.StructField
	seen := map[string]bool{}
	for f := range base.Fields() {
		name := tomlName(f)
		if name == "" {
			continue
		}
		seen[name] = true
		fields = append(fields, reflect.StructField{Name: f.Name, Type: f.Type, Tag: f.Tag})
	}
	for i, n := range nets {
		k, t := key(n)
		if k == "" {
			continue
		}
		if t == nil {
			return nil, fmt.Errorf("network %q: its Section must return a pointer to a struct", n.Name)
		}
		if seen[k] {
			return nil, fmt.Errorf("network %q: key %q is taken", n.Name, k)
		}
		seen[k] = true
		fields = append(fields, reflect.StructField{Name: keyField(i), Type: t, Tag: reflect.StructTag(`toml:"` + k + `"`)})
	}
	return reflect.StructOf(fields), nil
}

// withLists returns the root type with its Trees and Users fields of the
// extended types.
func (s *schema) withLists() reflect.Type {
	var fields []reflect.StructField
	for f := range s.root.Fields() {
		switch f.Name {
		case "Trees":
			f.Type = reflect.SliceOf(s.tree)
		case "Users":
			f.Type = reflect.SliceOf(s.user)
		}
		fields = append(fields, reflect.StructField{Name: f.Name, Type: f.Type, Tag: f.Tag})
	}
	return reflect.StructOf(fields)
}

// config copies a decoded document (a pointer to the decoding type) into
// a Config.
func (s *schema) config(doc reflect.Value) *Config {
	doc = doc.Elem()
	c := &Config{Networks: s.nets, Sections: map[string]Section{}}
	cv := reflect.ValueOf(c).Elem()
	for f := range reflect.TypeFor[Config]().Fields() {
		if tomlName(f) == "" || f.Name == "Trees" || f.Name == "Users" {
			continue
		}
		cv.FieldByName(f.Name).Set(doc.FieldByName(f.Name))
	}
	for i, n := range s.nets {
		if v := doc.FieldByName(keyField(i)); v.IsValid() && !v.IsNil() {
			c.Sections[n.Name] = v.Interface().(Section)
		}
	}
	trees := doc.FieldByName("Trees")
	for k := range trees.Len() {
		tv := trees.Index(k)
		var t Tree
		copyFields(reflect.ValueOf(&t).Elem(), tv)
		for i, n := range s.nets {
			f := tv.FieldByName(keyField(i))
			if !f.IsValid() || f.Len() == 0 {
				continue
			}
			hs := f.Interface().([]string)
			if t.Handles == nil {
				t.Handles = map[string][]string{}
			}
			t.Handles[n.Name] = hs
			if n.Tree.Identity {
				if t.Members == nil {
					t.Members = map[string][]string{}
				}
				t.Members[n.Name] = hs
			}
		}
		c.Trees = append(c.Trees, t)
	}
	users := doc.FieldByName("Users")
	for k := range users.Len() {
		uv := users.Index(k)
		var u User
		copyFields(reflect.ValueOf(&u).Elem(), uv)
		for i, n := range s.nets {
			if f := uv.FieldByName(keyField(i)); f.IsValid() && f.String() != "" {
				if u.Accounts == nil {
					u.Accounts = map[string]string{}
				}
				u.Accounts[n.Name] = f.String()
			}
		}
		c.Users = append(c.Users, u)
	}
	return c
}

// copyFields sets dst's TOML fields from the same-named fields of src.
func copyFields(dst, src reflect.Value) {
	for f := range dst.Type().Fields() {
		if tomlName(f) != "" {
			dst.FieldByName(f.Name).Set(src.FieldByName(f.Name))
		}
	}
}

// Keys lists every key a file may set when parsed for nets, as dotted
// paths without entry numbers ("irc.channel.name"); a table whose keys are
// data (announce.remind_grade) is one key. Documentation checks use it:
// config.sample.toml shows every key.
func Keys(nets ...Network) ([]string, error) {
	sc, err := newSchema(nets)
	if err != nil {
		return nil, err
	}
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		for f := range t.Fields() {
			name := tomlName(f)
			if name == "" {
				continue
			}
			ft := f.Type
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[Duration]() {
				walk(ft, prefix+name+".")
				continue
			}
			out = append(out, prefix+name)
		}
	}
	walk(sc.root, "")
	return out, nil
}
