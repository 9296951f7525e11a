// Package mappingtest is an in-memory implementation of the host side of
// package mapping, for tests: Store is a mapping.Store and mapping.Directory
// with real transactions (a failed one leaves nothing changed), strict
// Apply checks, and failure injection as plain methods (FailNext,
// FailApplyAfter).
//
//	store := mappingtest.NewStore()
//	store.AddTeam(mapping.Team{ID: "t1", Org: "acme", Name: "dev"})
//	diff, err := mapping.Config{TeamSync: true}.Sync(ctx, store, mapping.Login{
//		NameID:     "alice@example.com",
//		Attributes: mapping.Attributes{"MemberOf": {"dev"}},
//	})
//
// Snapshot is a directory's state as JSON, the samlcheck -plan input;
// ParseConfig reads the mapping file; PlanFiles plans a login from both.
package mappingtest
