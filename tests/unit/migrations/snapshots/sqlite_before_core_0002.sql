BEGIN TRANSACTION;
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO "alembic_version" VALUES('tracking_0002');
INSERT INTO "alembic_version" VALUES('registry_0001');
INSERT INTO "alembic_version" VALUES('lake_0001');
INSERT INTO "alembic_version" VALUES('features_0001');
INSERT INTO "alembic_version" VALUES('events_0001');
CREATE TABLE api_tokens (
	id VARCHAR(32) NOT NULL, 
	principal_id VARCHAR(32) NOT NULL, 
	name VARCHAR(128) NOT NULL, 
	token_hash VARCHAR(64) NOT NULL, 
	prefix VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	expires_at DATETIME, 
	revoked_at DATETIME, 
	last_used_at DATETIME, 
	CONSTRAINT pk_api_tokens PRIMARY KEY (id), 
	CONSTRAINT fk_api_tokens_principal_id_principals FOREIGN KEY(principal_id) REFERENCES principals (id) ON DELETE CASCADE, 
	CONSTRAINT uq_api_tokens_token_hash UNIQUE (token_hash)
);
CREATE TABLE asset_tags (
	asset_id VARCHAR(32) NOT NULL, 
	tag VARCHAR(128) NOT NULL, 
	CONSTRAINT pk_asset_tags PRIMARY KEY (asset_id, tag), 
	CONSTRAINT fk_asset_tags_asset_id_assets FOREIGN KEY(asset_id) REFERENCES assets (id) ON DELETE CASCADE
);
INSERT INTO "asset_tags" VALUES('311267afb8114fb5b4848c68423ae4b7','raw');
CREATE TABLE asset_versions (
	asset_id VARCHAR(32) NOT NULL, 
	version INTEGER NOT NULL, 
	properties JSON NOT NULL, 
	created_by VARCHAR(128) NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_asset_versions PRIMARY KEY (asset_id, version), 
	CONSTRAINT fk_asset_versions_asset_id_assets FOREIGN KEY(asset_id) REFERENCES assets (id) ON DELETE CASCADE
);
INSERT INTO "asset_versions" VALUES('311267afb8114fb5b4848c68423ae4b7',1,'{}','local-admin','2026-12-05 16:08:50.395953');
CREATE TABLE assets (
	id VARCHAR(32) NOT NULL, 
	kind VARCHAR(64) NOT NULL, 
	name VARCHAR(512) NOT NULL, 
	version INTEGER NOT NULL, 
	owner VARCHAR(128) NOT NULL, 
	description TEXT NOT NULL, 
	properties JSON NOT NULL, 
	created_by VARCHAR(128) NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_assets PRIMARY KEY (id), 
	CONSTRAINT uq_assets_kind_name UNIQUE (kind, name)
);
INSERT INTO "assets" VALUES('311267afb8114fb5b4848c68423ae4b7','table','bronze.orders',1,'default','orders, raw é','{}','local-admin','2026-12-05 16:08:50.395953','2026-12-05 16:08:50.399865');
CREATE TABLE audit_log (
	id INTEGER NOT NULL, 
	ts DATETIME NOT NULL, 
	principal VARCHAR(128) NOT NULL, 
	action VARCHAR(128) NOT NULL, 
	asset VARCHAR(600), 
	team VARCHAR(128), 
	outcome VARCHAR(64) NOT NULL, 
	details JSON NOT NULL, 
	CONSTRAINT pk_audit_log PRIMARY KEY (id)
);
INSERT INTO "audit_log" VALUES(1,'2026-12-05 16:08:50.398565','local-admin','catalog.register','table:bronze.orders@1','default','ok','{}');
INSERT INTO "audit_log" VALUES(2,'2026-12-05 16:08:50.400511','local-admin','catalog.update','table:bronze.orders','default','ok','{"description": "orders, raw \u00e9"}');
INSERT INTO "audit_log" VALUES(3,'2026-12-05 16:08:50.401761','local-admin','security.create_principal','principal:vera','default','ok','{"kind": "user", "team": "default", "role": "viewer"}');
INSERT INTO "audit_log" VALUES(4,'2026-12-05 16:08:50.402130','vera','catalog.register','table:bronze.sneaky','default','denied','{"permission": "write"}');
CREATE TABLE event_offsets (
	topic VARCHAR(256) NOT NULL, 
	group_name VARCHAR(256) NOT NULL, 
	"offset" BIGINT NOT NULL, 
	pending_end BIGINT, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_event_offsets PRIMARY KEY (topic, group_name)
);
CREATE TABLE event_publish_keys (
	topic VARCHAR(256) NOT NULL, 
	batch_key VARCHAR(256) NOT NULL, 
	first_offset BIGINT NOT NULL, 
	last_offset BIGINT NOT NULL, 
	CONSTRAINT pk_event_publish_keys PRIMARY KEY (topic, batch_key)
);
CREATE TABLE event_records (
	topic VARCHAR(256) NOT NULL, 
	"offset" BIGINT NOT NULL, 
	value JSON NOT NULL, 
	published_at DATETIME NOT NULL, 
	CONSTRAINT pk_event_records PRIMARY KEY (topic, "offset")
);
CREATE TABLE event_topics (
	name VARCHAR(256) NOT NULL, 
	next_offset BIGINT NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_event_topics PRIMARY KEY (name)
);
CREATE TABLE feature_materializations (
	id INTEGER NOT NULL, 
	"view" VARCHAR(512) NOT NULL, 
	namespace VARCHAR(600) NOT NULL, 
	backend VARCHAR(256) NOT NULL, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME NOT NULL, 
	start_ts DATETIME, 
	end_ts DATETIME, 
	watermark DATETIME, 
	source_version INTEGER, 
	rows BIGINT NOT NULL, 
	entities BIGINT NOT NULL, 
	written BIGINT NOT NULL, 
	statistics JSON NOT NULL, 
	principal VARCHAR(128) NOT NULL, 
	CONSTRAINT pk_feature_materializations PRIMARY KEY (id)
);
CREATE TABLE lake_definitions (
	name VARCHAR(256) NOT NULL, 
	owner VARCHAR(128) NOT NULL, 
	definition JSON NOT NULL, 
	created_by VARCHAR(128) NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_lake_definitions PRIMARY KEY (name)
);
CREATE TABLE lake_refreshes (
	id INTEGER NOT NULL, 
	table_name VARCHAR(256) NOT NULL, 
	version INTEGER NOT NULL, 
	mode VARCHAR(16) NOT NULL, 
	rows_written BIGINT NOT NULL, 
	rows_quarantined BIGINT NOT NULL, 
	expectations JSON NOT NULL, 
	source_versions JSON NOT NULL, 
	principal VARCHAR(128) NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_lake_refreshes PRIMARY KEY (id)
);
CREATE TABLE lineage_edges (
	id INTEGER NOT NULL, 
	source_id VARCHAR(32) NOT NULL, 
	source_version INTEGER NOT NULL, 
	target_id VARCHAR(32) NOT NULL, 
	target_version INTEGER NOT NULL, 
	operation VARCHAR(128) NOT NULL, 
	created_by VARCHAR(128) NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_lineage_edges PRIMARY KEY (id), 
	CONSTRAINT fk_lineage_edges_source_id_assets FOREIGN KEY(source_id) REFERENCES assets (id) ON DELETE CASCADE, 
	CONSTRAINT fk_lineage_edges_target_id_assets FOREIGN KEY(target_id) REFERENCES assets (id) ON DELETE CASCADE, 
	CONSTRAINT uq_lineage_edges_edge UNIQUE (source_id, source_version, target_id, target_version, operation)
);
CREATE TABLE memberships (
	principal_id VARCHAR(32) NOT NULL, 
	team VARCHAR(128) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	CONSTRAINT pk_memberships PRIMARY KEY (principal_id, team), 
	CONSTRAINT fk_memberships_principal_id_principals FOREIGN KEY(principal_id) REFERENCES principals (id) ON DELETE CASCADE
);
INSERT INTO "memberships" VALUES('0f13e7ce27cf401283730200777cb9df','*','admin');
INSERT INTO "memberships" VALUES('bd095ee70cfe402a89a05cf3e238a33d','default','viewer');
CREATE TABLE principals (
	id VARCHAR(32) NOT NULL, 
	name VARCHAR(128) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_principals PRIMARY KEY (id), 
	CONSTRAINT uq_principals_name UNIQUE (name)
);
INSERT INTO "principals" VALUES('0f13e7ce27cf401283730200777cb9df','local-admin','user','2026-12-05 16:08:50.393094');
INSERT INTO "principals" VALUES('bd095ee70cfe402a89a05cf3e238a33d','vera','user','2026-12-05 16:08:50.401095');
CREATE TABLE registry_alias_history (
	id INTEGER NOT NULL, 
	name VARCHAR(256) NOT NULL, 
	alias VARCHAR(128) NOT NULL, 
	version INTEGER, 
	previous_version INTEGER, 
	action VARCHAR(16) NOT NULL, 
	principal VARCHAR(128) NOT NULL, 
	approved_by VARCHAR(128), 
	request_id VARCHAR(32), 
	at DATETIME NOT NULL, 
	CONSTRAINT pk_registry_alias_history PRIMARY KEY (id)
);
CREATE TABLE registry_alias_policies (
	name VARCHAR(256) NOT NULL, 
	alias VARCHAR(128) NOT NULL, 
	protected BOOLEAN NOT NULL, 
	require_signature BOOLEAN NOT NULL, 
	metric VARCHAR(250), 
	min_value FLOAT, 
	updated_by VARCHAR(128) NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_registry_alias_policies PRIMARY KEY (name, alias)
);
CREATE TABLE registry_aliases (
	name VARCHAR(256) NOT NULL, 
	alias VARCHAR(128) NOT NULL, 
	version INTEGER NOT NULL, 
	CONSTRAINT pk_registry_aliases PRIMARY KEY (name, alias), 
	CONSTRAINT fk_registry_aliases_name_registry_models FOREIGN KEY(name) REFERENCES registry_models (name) ON DELETE CASCADE
);
CREATE TABLE registry_models (
	name VARCHAR(256) NOT NULL, 
	owner VARCHAR(128) NOT NULL, 
	description TEXT NOT NULL, 
	tags JSON NOT NULL, 
	created_by VARCHAR(128) NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_registry_models PRIMARY KEY (name)
);
CREATE TABLE registry_promotions (
	id VARCHAR(32) NOT NULL, 
	name VARCHAR(256) NOT NULL, 
	alias VARCHAR(128) NOT NULL, 
	version INTEGER NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	requested_by VARCHAR(128) NOT NULL, 
	requested_at DATETIME NOT NULL, 
	decided_by VARCHAR(128), 
	decided_at DATETIME, 
	comment TEXT, 
	CONSTRAINT pk_registry_promotions PRIMARY KEY (id)
);
CREATE TABLE registry_versions (
	name VARCHAR(256) NOT NULL, 
	version INTEGER NOT NULL, 
	source VARCHAR(1024) NOT NULL, 
	storage_location VARCHAR(1024) NOT NULL, 
	run_id VARCHAR(32), 
	status VARCHAR(32) NOT NULL, 
	description TEXT NOT NULL, 
	flavor VARCHAR(64), 
	signature JSON, 
	metrics JSON NOT NULL, 
	tags JSON NOT NULL, 
	created_by VARCHAR(128) NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_registry_versions PRIMARY KEY (name, version), 
	CONSTRAINT fk_registry_versions_name_registry_models FOREIGN KEY(name) REFERENCES registry_models (name) ON DELETE CASCADE
);
CREATE TABLE tracking_experiments (
	id VARCHAR(32) NOT NULL, 
	name VARCHAR(256) NOT NULL, 
	owner VARCHAR(128) NOT NULL, 
	artifact_location VARCHAR(1024) NOT NULL, 
	lifecycle_stage VARCHAR(32) NOT NULL, 
	tags JSON NOT NULL, 
	created_by VARCHAR(128) NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT pk_tracking_experiments PRIMARY KEY (id), 
	CONSTRAINT uq_tracking_experiments_name UNIQUE (name)
);
CREATE TABLE tracking_inputs (
	run_id VARCHAR(32) NOT NULL, 
	ref VARCHAR(600) NOT NULL, 
	kind VARCHAR(64) NOT NULL, 
	name VARCHAR(512) NOT NULL, 
	version INTEGER, 
	context VARCHAR(64) NOT NULL, 
	digest VARCHAR(128), 
	properties JSON NOT NULL, 
	CONSTRAINT pk_tracking_inputs PRIMARY KEY (run_id, ref), 
	CONSTRAINT fk_tracking_inputs_run_id_tracking_runs FOREIGN KEY(run_id) REFERENCES tracking_runs (id) ON DELETE CASCADE
);
CREATE TABLE tracking_latest_metrics (
	run_id VARCHAR(32) NOT NULL, 
	"key" VARCHAR(250) NOT NULL, 
	value FLOAT NOT NULL, 
	is_nan BOOLEAN NOT NULL, 
	step BIGINT NOT NULL, 
	timestamp BIGINT NOT NULL, 
	CONSTRAINT pk_tracking_latest_metrics PRIMARY KEY (run_id, "key"), 
	CONSTRAINT fk_tracking_latest_metrics_run_id_tracking_runs FOREIGN KEY(run_id) REFERENCES tracking_runs (id) ON DELETE CASCADE
);
CREATE TABLE tracking_logged_models (
	id VARCHAR(64) NOT NULL, 
	experiment_id VARCHAR(32) NOT NULL, 
	run_id VARCHAR(32), 
	name VARCHAR(256) NOT NULL, 
	artifact_location VARCHAR(1024) NOT NULL, 
	status VARCHAR(32) NOT NULL, 
	model_type VARCHAR(128), 
	source_run_id VARCHAR(32), 
	tags JSON NOT NULL, 
	params JSON NOT NULL, 
	creation_time BIGINT NOT NULL, 
	last_updated_time BIGINT NOT NULL, 
	CONSTRAINT pk_tracking_logged_models PRIMARY KEY (id), 
	CONSTRAINT fk_tracking_logged_models_experiment_id_tracking_experiments FOREIGN KEY(experiment_id) REFERENCES tracking_experiments (id) ON DELETE CASCADE
);
CREATE TABLE "tracking_metrics" (
	id INTEGER NOT NULL, 
	run_id VARCHAR(32) NOT NULL, 
	"key" VARCHAR(250) NOT NULL, 
	value FLOAT NOT NULL, 
	is_nan BOOLEAN NOT NULL, 
	step BIGINT NOT NULL, 
	timestamp BIGINT NOT NULL, 
	CONSTRAINT pk_tracking_metrics PRIMARY KEY (id)
);
CREATE TABLE tracking_params (
	run_id VARCHAR(32) NOT NULL, 
	"key" VARCHAR(250) NOT NULL, 
	value TEXT NOT NULL, 
	CONSTRAINT pk_tracking_params PRIMARY KEY (run_id, "key"), 
	CONSTRAINT fk_tracking_params_run_id_tracking_runs FOREIGN KEY(run_id) REFERENCES tracking_runs (id) ON DELETE CASCADE
);
CREATE TABLE tracking_runs (
	id VARCHAR(32) NOT NULL, 
	experiment_id VARCHAR(32) NOT NULL, 
	name VARCHAR(256) NOT NULL, 
	owner VARCHAR(128) NOT NULL, 
	user_name VARCHAR(128) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	lifecycle_stage VARCHAR(32) NOT NULL, 
	parent_run_id VARCHAR(32), 
	start_time BIGINT NOT NULL, 
	end_time BIGINT, 
	artifact_uri VARCHAR(1024) NOT NULL, 
	CONSTRAINT pk_tracking_runs PRIMARY KEY (id), 
	CONSTRAINT fk_tracking_runs_experiment_id_tracking_experiments FOREIGN KEY(experiment_id) REFERENCES tracking_experiments (id) ON DELETE CASCADE
);
CREATE TABLE tracking_tags (
	run_id VARCHAR(32) NOT NULL, 
	"key" VARCHAR(250) NOT NULL, 
	value TEXT NOT NULL, 
	CONSTRAINT pk_tracking_tags PRIMARY KEY (run_id, "key"), 
	CONSTRAINT fk_tracking_tags_run_id_tracking_runs FOREIGN KEY(run_id) REFERENCES tracking_runs (id) ON DELETE CASCADE
);
CREATE INDEX ix_audit_log_asset ON audit_log (asset);
CREATE INDEX ix_audit_log_principal ON audit_log (principal);
CREATE INDEX ix_audit_log_ts ON audit_log (ts);
CREATE INDEX ix_asset_tags_tag ON asset_tags (tag);
CREATE INDEX ix_lineage_edges_source ON lineage_edges (source_id);
CREATE INDEX ix_lineage_edges_target ON lineage_edges (target_id);
CREATE INDEX ix_tracking_logged_models_run ON tracking_logged_models (run_id);
CREATE INDEX ix_tracking_runs_experiment_start ON tracking_runs (experiment_id, start_time);
CREATE INDEX ix_tracking_runs_parent ON tracking_runs (parent_run_id);
CREATE INDEX ix_tracking_latest_metrics_key_value ON tracking_latest_metrics ("key", value);
CREATE INDEX ix_tracking_params_key_value ON tracking_params ("key", value);
CREATE INDEX ix_tracking_metrics_run_key_step ON tracking_metrics (run_id, "key", step);
CREATE INDEX ix_registry_alias_history_name_alias ON registry_alias_history (name, alias);
CREATE INDEX ix_registry_promotions_name_status ON registry_promotions (name, status);
CREATE INDEX ix_lake_refreshes_table_name ON lake_refreshes (table_name);
CREATE INDEX ix_feature_materializations_view ON feature_materializations ("view", namespace);
COMMIT;
