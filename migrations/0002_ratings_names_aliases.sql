-- 0002_ratings_names_aliases: what a Gravatar drop-in knows about an avatar.
--
-- An applied migration is never edited: its SHA-256 is recorded in schema_migrations and the
-- service refuses to start when the file no longer matches. Change the schema with a new,
-- higher-numbered file instead.
--
-- Portable SQL: every statement here must run unchanged on SQLite and PostgreSQL.

-- The upload's Gravatar rating (g, pg, r or x); rows written before ratings existed are `g`.
ALTER TABLE avatars ADD COLUMN rating TEXT NOT NULL DEFAULT 'g';

-- The person's display name, for drawing initials; NULL when the upload gave none.
ALTER TABLE avatars ADD COLUMN name TEXT;

-- The other hashes an avatar is found by (the MD5, SHA-1 and SHA-256 of one email address,
-- less the one it is stored under). An alias belongs to at most one avatar of a tenant, and
-- goes with it.
CREATE TABLE avatar_aliases (
    tenant TEXT NOT NULL,
    alias  TEXT NOT NULL,
    hash   TEXT NOT NULL,
    PRIMARY KEY (tenant, alias),
    FOREIGN KEY (tenant, hash) REFERENCES avatars (tenant, hash) ON DELETE CASCADE
);

-- Finding an avatar's aliases, and removing them with it.
CREATE INDEX avatar_aliases_by_hash ON avatar_aliases (tenant, hash);
