// SPDX-License-Identifier: GPL-3.0-or-later

// Setting up the world: users, API keys, products and components, and
// the look-ups the handlers use.

package bugzillatest

import (
	"slices"
	"strings"
)

// AddUser adds an account (or replaces the one with the same login).
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.Groups = slices.Clone(u.Groups)
	for _, old := range s.users {
		if strings.EqualFold(old.Login, u.Login) {
			old.User = u
			return
		}
	}
	s.users = append(s.users, &user{User: u, id: len(s.users) + 1})
}

// SetAPIKey gives a user a new API key ("" revokes it): requests with the
// old key then fail with code 306, as after a revocation in Bugzilla. It
// reports false if there is no such user.
func (s *Server) SetAPIKey(login, key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByLogin(login)
	if u == nil {
		return false
	}
	u.APIKey = key
	return true
}

// AddComponent adds a component (and its product if new), or replaces the
// defaults of an existing one.
func (s *Server) AddComponent(productName, componentName, defaultAssignee string, defaultCC []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addComponentLocked(productName, componentName, defaultAssignee, defaultCC)
}

func (s *Server) addComponentLocked(productName, componentName, defaultAssignee string, defaultCC []string) {
	p := s.productLocked(productName)
	if p == nil {
		p = &product{id: len(s.products) + 1, name: productName, description: productName + " bugs"}
		s.products = append(s.products, p)
	}
	for _, c := range p.components {
		if c.name == componentName {
			c.defaultAssignee, c.defaultCC = defaultAssignee, slices.Clone(defaultCC)
			return
		}
	}
	p.components = append(p.components, &component{
		id: s.nextCompID, name: componentName, description: componentName,
		defaultAssignee: defaultAssignee, defaultCC: slices.Clone(defaultCC),
	})
	s.nextCompID++
}

func (s *Server) productLocked(name string) *product {
	for _, p := range s.products {
		if p.name == name {
			return p
		}
	}
	return nil
}

func (s *Server) componentLocked(prod, comp string) *component {
	p := s.productLocked(prod)
	if p == nil {
		return nil
	}
	for _, c := range p.components {
		if c.name == comp {
			return c
		}
	}
	return nil
}

func (s *Server) userByLogin(login string) *user {
	for _, u := range s.users {
		if strings.EqualFold(u.Login, login) {
			return u
		}
	}
	return nil
}

func (s *Server) userByID(id int) *user {
	if id >= 1 && id <= len(s.users) {
		return s.users[id-1]
	}
	return nil
}

func (s *Server) userByKey(key string) *user {
	for _, u := range s.users {
		if u.APIKey != "" && u.APIKey == key {
			return u
		}
	}
	return nil
}
