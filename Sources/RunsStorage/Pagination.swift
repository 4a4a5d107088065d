import RunsDomain

/// Cursor pagination over time-ordered ids: `after`/`before` are exclusive and need not name an
/// object that still exists (a client deleting what it pages through keeps paging).
enum Pagination {
    /// - Parameters:
    ///   - select: `SELECT … FROM table WHERE <scope>`; the scope's values come in `scope`.
    static func page<T: Sendable>(
        _ connection: any SQLSession, select: String, scope: [SQLValue], query: ListQuery,
        map: (any SQLRow) throws -> T
    ) throws -> Page<T> {
        let ascending = query.order == .asc
        var sql = select
        var values = scope
        // `before` alone asks for the page that precedes the cursor: walk away from it in
        // reverse order, then turn the result around.
        let reversed = query.before != nil && query.after == nil
        if let after = query.after {
            sql += ascending ? " AND id > ?" : " AND id < ?"
            values.append(.text(after))
        }
        if let before = query.before {
            sql += ascending ? " AND id < ?" : " AND id > ?"
            values.append(.text(before))
        }
        sql += (ascending != reversed) ? " ORDER BY id ASC" : " ORDER BY id DESC"
        sql += " LIMIT ?"
        values.append(.integer(Int64(query.limit + 1)))
        var items = try connection.query(sql, values, map)
        let hasMore = items.count > query.limit
        if hasMore { items.removeLast() }
        if reversed { items.reverse() }
        return Page(items: items, hasMore: hasMore)
    }
}

extension JSONValue {
    var columnText: SQLValue { .text(jsonText) }

    /// `NULL` for JSON null, so nullable columns stay queryable.
    var nullableColumnText: SQLValue { isNull ? .null : .text(jsonText) }
}

extension Optional where Wrapped == String {
    var sqlite: SQLValue { map(SQLValue.text) ?? .null }
}

extension Optional where Wrapped == Int {
    var sqlite: SQLValue { map { .integer(Int64($0)) } ?? .null }
}

extension Optional where Wrapped == Double {
    var sqlite: SQLValue { map(SQLValue.real) ?? .null }
}

extension String {
    var sqlite: SQLValue { .text(self) }
}

extension Int {
    var sqlite: SQLValue { .integer(Int64(self)) }
}
