-- 0001_init: the avatar catalog.
--
-- An applied migration is never edited: its SHA-256 is recorded in schema_migrations and the
-- service refuses to start when the file no longer matches. Change the schema with a new,
-- higher-numbered file instead.
--
-- Portable SQL: every statement here must run unchanged on SQLite and PostgreSQL.

-- One row per avatar of a tenant; `version` names the upload its variants belong to.
CREATE TABLE avatars (
    tenant       TEXT   NOT NULL,
    hash         TEXT   NOT NULL,
    version      TEXT   NOT NULL,
    format       TEXT   NOT NULL,
    content_hash TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant, hash)
);

-- One row per stored size of an avatar; replaced wholesale with the avatar's row.
CREATE TABLE avatar_variants (
    tenant      TEXT    NOT NULL,
    hash        TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    bytes       BIGINT  NOT NULL,
    etag        TEXT    NOT NULL,
    storage_key TEXT    NOT NULL,
    PRIMARY KEY (tenant, hash, size),
    FOREIGN KEY (tenant, hash) REFERENCES avatars (tenant, hash) ON DELETE CASCADE
);
