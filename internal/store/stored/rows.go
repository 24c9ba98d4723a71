package stored

// Row is what a single-row result and a cursor over rows have in common
// in both drivers (*sql.Row, *sql.Rows, pgx.Row, pgx.Rows).
type Row interface {
	Scan(dest ...any) error
}

// Rows is a cursor over a query's rows as both drivers give it. Closing it
// stays the engine's (the drivers' Close methods differ).
type Rows interface {
	Row
	Next() bool
	Err() error
}

// ScanAll scans every row of rows with scan. The result is never nil, so an
// empty list compares equal however it was made.
func ScanAll[T any](rows Rows, scan func(Row) (T, error)) ([]T, error) {
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
