-- Maestro's PostgreSQL schema as of migration 202412181141 (maestro.md section 1).
--
-- Maestro creates it with GORM AutoMigrate; this file reproduces the result so that
-- pg_dump of a database built from it equals pg_dump of a database built by
-- `maestro migration`, and the migrations rows make a later real migration a no-op.
-- Column order matters for that comparison (GORM puts resources.name first).

CREATE TABLE consumers (
    id text NOT NULL PRIMARY KEY,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    deleted_at timestamp with time zone,
    name text NOT NULL,
    labels jsonb
);
CREATE INDEX idx_consumers_deleted_at ON consumers USING btree (deleted_at);
CREATE UNIQUE INDEX idx_consumers_name ON consumers USING btree (name);

CREATE TABLE resources (
    name text,
    id text NOT NULL PRIMARY KEY,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    deleted_at timestamp with time zone,
    source text,
    consumer_name text,
    version bigint NOT NULL,
    type text,
    payload jsonb,
    status jsonb,
    CONSTRAINT fk_resources_consumers FOREIGN KEY (consumer_name)
        REFERENCES consumers (name) ON UPDATE RESTRICT ON DELETE RESTRICT
);
CREATE INDEX idx_resources_deleted_at ON resources USING btree (deleted_at);
CREATE UNIQUE INDEX idx_resources_name ON resources USING btree (name);
CREATE INDEX idx_resources_source ON resources USING btree (source);
CREATE INDEX idx_resources_consumer_name ON resources USING btree (consumer_name);
CREATE INDEX idx_resources_type ON resources USING btree (type);

CREATE TABLE events (
    id text NOT NULL PRIMARY KEY,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    deleted_at timestamp with time zone,
    source text,
    source_id text,
    event_type text,
    reconciled_date timestamp with time zone
);
CREATE INDEX idx_events_deleted_at ON events USING btree (deleted_at);
CREATE INDEX idx_events_source ON events USING btree (source);
CREATE INDEX idx_events_source_id ON events USING btree (source_id);
CREATE INDEX idx_events_reconciled_date ON events USING btree (reconciled_date);

CREATE TABLE status_events (
    id text NOT NULL PRIMARY KEY,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    deleted_at timestamp with time zone,
    resource_id text,
    resource_source text,
    resource_type text,
    payload jsonb,
    status jsonb,
    status_event_type text,
    reconciled_date timestamp with time zone
);
CREATE INDEX idx_status_events_deleted_at ON status_events USING btree (deleted_at);
CREATE INDEX idx_status_events_resource_id ON status_events USING btree (resource_id);
CREATE INDEX idx_status_events_reconciled_date ON status_events USING btree (reconciled_date);

CREATE TABLE server_instances (
    id text NOT NULL PRIMARY KEY,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    deleted_at timestamp with time zone,
    last_heartbeat timestamp with time zone,
    ready boolean DEFAULT false
);
CREATE INDEX idx_server_instances_deleted_at ON server_instances USING btree (deleted_at);

-- No primary key, exactly like Maestro's.
CREATE TABLE event_instances (
    event_id text,
    instance_id text,
    spec_event_id text,
    CONSTRAINT fk_event_instances_status_events FOREIGN KEY (event_id)
        REFERENCES status_events (id) ON DELETE CASCADE,
    CONSTRAINT fk_event_instances_server_instances FOREIGN KEY (instance_id)
        REFERENCES server_instances (id) ON DELETE CASCADE,
    CONSTRAINT fk_event_instances_events FOREIGN KEY (spec_event_id)
        REFERENCES events (id) ON DELETE CASCADE
);
CREATE INDEX idx_event_instances_event_id ON event_instances USING btree (event_id);
CREATE INDEX idx_event_instances_instance_id ON event_instances USING btree (instance_id);
CREATE INDEX idx_event_instances_spec_event_id ON event_instances USING btree (spec_event_id);
CREATE INDEX idx_status_event_instance ON event_instances USING btree (event_id, instance_id);

CREATE TABLE migrations (
    id character varying(255) NOT NULL PRIMARY KEY
);
INSERT INTO migrations (id) VALUES
    ('201911212019'),
    ('202309020925'),
    ('202311151850'),
    ('202311151856'),
    ('202311151859'),
    ('202401151014'),
    ('202406241426'),
    ('202406241506'),
    ('202412171429'),
    ('202412181141');
