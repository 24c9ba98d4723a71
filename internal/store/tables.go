package store

import "errors"

// The tables below are the whole state of a tessera store, described once
// for both engines, so that a backup made on one engine restores on either
// (tessera backup, restore, migrate copy). The engines' schemas mirror each
// other table for table and column for column (see the SQLite 0001
// migration); they differ only in how a kind of value is stored, which each
// engine's dump code converts to and from the neutral values named by
// Kind. Each engine's tests compare this list with the tables its
// migrations actually make, so a migration that adds a column without
// adding it here fails there, not in an operator's restore.
//
// Not listed: the schema's own bookkeeping (schema_migrations) and the two
// counters, which travel as Counters.

// Kind is how a column's value travels in a dump.
type Kind uint8

const (
	KindText  Kind = iota + 1 // string
	KindInt                   // int64 (durations are nanoseconds)
	KindTime                  // time.Time, to the microsecond, UTC; the zero time is "not yet"
	KindBool                  // bool
	KindBytes                 // []byte
	KindJSON                  // string: a JSON document as the engine stores it
	KindList                  // []string
)

// Column is one column of a dumped table.
type Column struct {
	Name string
	Kind Kind
	// Null: the column may hold SQL NULL (a nil value in a row).
	Null bool
}

// Table is one dumped table: its columns in dump order, and the columns of
// its primary key, by which its rows are dumped (a stable order, so two
// dumps of one state are byte for byte alike).
type Table struct {
	Name    string
	Columns []Column
	Key     []string
}

// Counters are the store's two counters, which no row holds: the last
// revocation feed number given out (followers keep a cursor into the feed,
// and a number must never be given twice, even after the entries that had
// it were purged) and the directory version (caches compare it).
type Counters struct {
	FeedSeq          int64 `json:"feedSeq"`
	DirectoryVersion int64 `json:"directoryVersion"`
}

func text(names ...string) []Column {
	cs := make([]Column, len(names))
	for i, n := range names {
		cs[i] = Column{Name: n, Kind: KindText}
	}
	return cs
}

func cols(groups ...[]Column) []Column {
	var out []Column
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func one(name string, k Kind) []Column { return []Column{{Name: name, Kind: k}} }

func times(names ...string) []Column {
	cs := text(names...)
	for i := range cs {
		cs[i].Kind = KindTime
	}
	return cs
}

// Tables lists every table in an order that satisfies the foreign keys
// (a table comes after the tables it references), for restoring with the
// keys enforced.
var Tables = []Table{
	{Name: "tenants", Key: []string{"id"}, Columns: cols(
		text("id", "domain", "domain_key", "display_name"), times("created_at"), one("policy", KindJSON))},
	{Name: "tenant_domains", Key: []string{"domain_key"}, Columns: cols(
		text("domain_key", "tenant_id", "domain"), times("created_at"))},
	{Name: "applications", Key: []string{"tenant_id", "app_id"}, Columns: cols(
		text("tenant_id", "app_id", "object_id", "display_name"), one("identifier_uris", KindList),
		one("scopes", KindJSON), one("app_roles", KindJSON), one("access_token_accepted_version", KindInt),
		one("access_token_lifetime", KindInt), one("redirect_uris", KindList), one("public_client", KindBool),
		one("pre_authorized", KindJSON), times("created_at", "updated_at"))},
	{Name: "application_identifier_uris", Key: []string{"tenant_id", "uri"}, Columns: text("tenant_id", "uri", "app_id")},
	{Name: "service_principals", Key: []string{"tenant_id", "object_id"}, Columns: cols(
		text("tenant_id", "object_id", "app_id", "display_name"), one("enabled", KindBool),
		one("app_role_assignment_required", KindBool), times("created_at"))},
	{Name: "credentials", Key: []string{"tenant_id", "app_id", "key_id"}, Columns: cols(
		text("tenant_id", "app_id", "key_id", "type", "display_name", "hint"), one("secret_hash", KindBytes),
		one("certificate_der", KindBytes), text("thumbprint", "thumbprint_s256"), times("starts_at", "expires_at", "created_at"))},
	{Name: "users", Key: []string{"tenant_id", "object_id"}, Columns: cols(
		text("tenant_id", "object_id", "upn", "upn_key", "display_name", "mail"), one("enabled", KindBool),
		text("password_hash"), one("failed_sign_ins", KindInt), times("last_failure_at", "locked_until", "created_at", "updated_at"),
		one("mail_verified", KindBool))},
	{Name: "role_assignments", Key: []string{"tenant_id", "id"}, Columns: cols(
		text("tenant_id", "id", "principal_id", "principal_type", "resource_id", "resource_app_id", "app_role_id"), times("created_at"))},
	{Name: "consents", Key: []string{"tenant_id", "client_id", "resource_app_id", "principal_id"}, Columns: cols(
		text("tenant_id", "client_id", "resource_app_id", "principal_id"), one("scopes", KindList), times("created_at", "updated_at"))},
	{Name: "signing_keys", Key: []string{"id"}, Columns: cols(
		text("id", "alg", "state"), one("sealed", KindBytes), one("cert_der", KindBytes), times("created_at", "activated_at", "publish_until"))},
	{Name: "browser_sessions", Key: []string{"tenant_id", "id"}, Columns: cols(
		text("tenant_id", "id"), one("id_hash", KindBytes), text("user_id"), times("auth_time", "created_at", "expires_at", "revoked_at"))},
	{Name: "grants", Key: []string{"tenant_id", "id"}, Columns: cols(
		text("tenant_id", "id", "user_id", "client_id"), []Column{{Name: "browser_session_id", Kind: KindText, Null: true}},
		one("scopes", KindList), times("auth_time", "created_at", "expires_at", "revoked_at"), text("channel"))},
	{Name: "refresh_tokens", Key: []string{"tenant_id", "hash"}, Columns: cols(
		text("tenant_id"), one("hash", KindBytes), text("grant_id", "client_id"), times("created_at", "expires_at", "used_at"),
		one("successor_hash", KindBytes), one("successor_sealed", KindBytes), text("access_tokens"),
		times("access_token_expires_at"), one("generation", KindInt))},
	{Name: "codes", Key: []string{"tenant_id", "hash"}, Columns: cols(
		text("tenant_id"), one("hash", KindBytes), text("grant_id", "client_id", "redirect_uri"), one("scopes", KindList),
		text("resource", "nonce", "code_challenge", "code_challenge_method"), times("created_at", "expires_at", "redeemed_at"))},
	{Name: "device_codes", Key: []string{"tenant_id", "hash"}, Columns: cols(
		text("tenant_id"), one("hash", KindBytes), one("user_code_hash", KindBytes), text("client_id"), one("scopes", KindList),
		text("resource"), one("poll_interval", KindInt), times("created_at", "expires_at", "last_polled_at"),
		text("status", "user_id", "grant_id"))},
	{Name: "revocations", Key: []string{"seq"}, Columns: cols(
		one("seq", KindInt), text("tenant_id", "kind", "value"), times("revoked_at", "expires_at"), text("aud", "prior_jti"),
		one("generation", KindInt))},
	{Name: "consumed_values", Key: []string{"tenant_id", "value_key"}, Columns: cols(text("tenant_id", "value_key"), times("expires_at"))},
	{Name: "address_failures", Key: []string{"tenant_id", "address"}, Columns: cols(
		text("tenant_id", "address"), one("failures", KindInt), times("first_failure_at", "last_failure_at", "banned_until", "expires_at"))},
	{Name: "name_failures", Key: []string{"tenant_id", "name_key"}, Columns: cols(
		text("tenant_id"), one("name_key", KindBytes), one("failed_sign_ins", KindInt), times("last_failure_at", "locked_until", "expires_at"))},
	{Name: "audit_events", Key: []string{"tenant_id", "at", "id"}, Columns: cols(
		text("id", "tenant_id"), times("at"), text("kind", "actor", "target", "outcome", "reason", "details", "before", "after"))},
}

// TableNamed returns the description of the named table.
func TableNamed(name string) (Table, bool) {
	for _, t := range Tables {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

// A DumpWriter receives a store's state: Start once, then each table
// (Table) followed by its rows (Row), in the order of Tables.
type DumpWriter interface {
	Start(schemaVersion int, c Counters) error
	Table(t Table) error
	// Row is one row: one value per column, of the Go type its Kind
	// names (nil for NULL). The writer must not keep row after it returns.
	Row(row []any) error
}

// A DumpReader yields a dump's tables and rows, in order, to the engine
// that restores it.
type DumpReader interface {
	// SchemaVersion is the schema the dump was made at.
	SchemaVersion() int
	// NextTable returns the next table, and false after the last.
	NextTable() (Table, bool, error)
	// NextRow returns the next row of the current table, and false at its
	// end. The row is the reader's until the next call.
	NextRow() ([]any, bool, error)
	// Counters returns the counters, once every table has been read; it
	// fails if the dump was cut short or its rows do not add up.
	Counters() (Counters, error)
}

// ErrNotEmpty is a restore's refusal of a database that holds rows.
var ErrNotEmpty = errors.New("the database is not empty: restore into a new data folder or an empty PostgreSQL database, on which no server has started")
