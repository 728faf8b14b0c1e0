-- The package's own records: which versions were installed into this database, and when.
-- Read by the bridge at startup to refuse a database it does not understand.
select pg_temp.claim_table('conductor', 'installed_versions');
create table if not exists conductor.installed_versions (
    version text not null,
    installed_at timestamptz not null default now(),
    installed_by text not null default current_user,
    constraint installed_versions_pkey primary key (version)
);
alter table conductor.installed_versions enable row level security;
comment on table conductor.installed_versions is
'Each package version installed into this database, with when it was first installed.';
comment on column conductor.installed_versions.version is 'Package version (the VERSION file).';
comment on column conductor.installed_versions.installed_at is 'When this version was first installed.';
comment on column conductor.installed_versions.installed_by is 'Database role that installed it.';
