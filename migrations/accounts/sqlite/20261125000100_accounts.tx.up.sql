CREATE TABLE accounts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 150),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
