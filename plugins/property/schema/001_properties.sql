-- property 1: listings, their photos and blackout dates.  Runs with
-- search_path = property.  The plugin validates every field first (400
-- naming it); the constraints here hold the same rules for anyone else who
-- writes, and hold the rules that span fields when a PATCH meets the row.

CREATE TABLE property.properties (
    id                  uuid PRIMARY KEY,
    owner_id            uuid NOT NULL,
    status              text NOT NULL DEFAULT 'draft'
                        CHECK (status IN ('draft', 'published', 'deleted')),
    -- the aggregate version: +1 on every change, listing, photos or blocks;
    -- it is the ETag and the version of every event
    version             bigint NOT NULL DEFAULT 1,
    -- the transaction that last changed the aggregate: the publishing
    -- statement that follows a write in the same transaction emits an
    -- event only when this is its own transaction (see events.c)
    changed_tx          bigint NOT NULL,
    title               text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description         text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    property_type       text NOT NULL,
    street              text NOT NULL,
    city                text NOT NULL,
    region              text,
    postal_code         text,
    country             char(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    lat                 double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon                 double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    bedrooms            int NOT NULL CHECK (bedrooms >= 0),
    beds                int NOT NULL CHECK (beds >= 0),
    bathrooms           numeric(3,1) NOT NULL CHECK (bathrooms >= 0 AND bathrooms * 2 = trunc(bathrooms * 2)),
    max_guests          int NOT NULL CHECK (max_guests >= 1),
    area_m2             int CHECK (area_m2 > 0),
    amenities           text[] NOT NULL DEFAULT '{}',
    nightly_amount      bigint CHECK (nightly_amount > 0),
    nightly_currency    char(3),
    monthly_amount      bigint CHECK (monthly_amount > 0),
    monthly_currency    char(3),
    min_nights          int NOT NULL DEFAULT 1 CHECK (min_nights >= 1),
    max_nights          int,
    instant_book        boolean NOT NULL DEFAULT false,
    cancellation_policy text NOT NULL DEFAULT 'moderate'
                        CHECK (cancellation_policy IN ('flexible', 'moderate', 'strict')),
    house_rules         text NOT NULL DEFAULT '' CHECK (length(house_rules) <= 5000),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    published_at        timestamptz,
    deleted_at          timestamptz,
    -- property.snapshot() of this version, stored by the transaction that
    -- made it (events.c): reads serve it as is, and it is byte for byte the
    -- data of the version's event.  NULL only for rows written by hand;
    -- readers fall back to computing it.
    snapshot            json,
    -- the plugin maps these names to the field of its 400 (validate.c)
    CONSTRAINT properties_price_required
        CHECK (nightly_amount IS NOT NULL OR monthly_amount IS NOT NULL),
    CONSTRAINT properties_nightly_pair
        CHECK ((nightly_amount IS NULL) = (nightly_currency IS NULL)),
    CONSTRAINT properties_monthly_pair
        CHECK ((monthly_amount IS NULL) = (monthly_currency IS NULL)),
    CONSTRAINT properties_max_nights
        CHECK (max_nights IS NULL OR max_nights >= min_nights),
    CONSTRAINT properties_deleted
        CHECK ((status = 'deleted') = (deleted_at IS NOT NULL))
);
-- GET /v1/properties?owner=me: newest first, keyset pagination
CREATE INDEX properties_owner ON property.properties (owner_id, created_at DESC, id DESC)
    WHERE status <> 'deleted';

CREATE TABLE property.photos (
    id           uuid PRIMARY KEY,
    property_id  uuid NOT NULL REFERENCES property.properties (id),
    hash         text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),  -- SHA-256: the file name
    content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    size         bigint NOT NULL CHECK (size > 0),
    position     int NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX photos_property ON property.photos (property_id, position);

-- A blackout covers the nights from start_date up to, not including,
-- end_date: the same half-open range a stay uses, so a booking that checks
-- out on start_date does not collide with it.
CREATE TABLE property.blocks (
    id           uuid PRIMARY KEY,
    property_id  uuid NOT NULL REFERENCES property.properties (id),
    start_date   date NOT NULL,
    end_date     date NOT NULL,
    reason       text NOT NULL DEFAULT '' CHECK (length(reason) <= 200),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT blocks_range CHECK (end_date > start_date),
    CONSTRAINT blocks_no_overlap
        EXCLUDE USING gist (property_id WITH =, daterange(start_date, end_date) WITH &&)
);

CREATE FUNCTION property.rfc3339(t timestamptz) RETURNS text
    LANGUAGE sql STABLE
    AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;

-- The snapshot: the one JSON form of a listing, answered by the API and
-- carried by every property-events event.  property-events is compacted,
-- so it holds everything a read model needs, photos and blocks included.
-- json, not jsonb: the keys keep this order, and GET serves the text as is.
CREATE FUNCTION property.snapshot(p property.properties) RETURNS json
    LANGUAGE sql STABLE
    AS $$ SELECT json_build_object(
        'id', p.id,
        'owner_id', p.owner_id,
        'status', p.status,
        'version', p.version,
        'title', p.title,
        'description', p.description,
        'property_type', p.property_type,
        'address', json_build_object('street', p.street, 'city', p.city, 'region', p.region,
                                      'postal_code', p.postal_code, 'country', p.country),
        'location', json_build_object('lat', p.lat, 'lon', p.lon),
        'bedrooms', p.bedrooms,
        'beds', p.beds,
        'bathrooms', trim_scale(p.bathrooms),
        'max_guests', p.max_guests,
        'area_m2', p.area_m2,
        'amenities', to_json(p.amenities),
        'nightly_price', CASE WHEN p.nightly_amount IS NOT NULL THEN
            json_build_object('amount', p.nightly_amount, 'currency', p.nightly_currency) END,
        'monthly_rent', CASE WHEN p.monthly_amount IS NOT NULL THEN
            json_build_object('amount', p.monthly_amount, 'currency', p.monthly_currency) END,
        'min_nights', p.min_nights,
        'max_nights', p.max_nights,
        'instant_book', p.instant_book,
        'cancellation_policy', p.cancellation_policy,
        'house_rules', p.house_rules,
        'photos', (SELECT coalesce(json_agg(json_build_object(
                          'id', ph.id, 'url', '/media/' || ph.hash, 'hash', ph.hash,
                          'content_type', ph.content_type, 'size', ph.size)
                          ORDER BY ph.position, ph.created_at, ph.id), '[]'::json)
                   FROM property.photos ph WHERE ph.property_id = p.id),
        'blocks', (SELECT coalesce(json_agg(json_build_object(
                          'id', b.id, 'start', b.start_date, 'end', b.end_date, 'reason', b.reason)
                          ORDER BY b.start_date, b.id), '[]'::json)
                   FROM property.blocks b WHERE b.property_id = p.id),
        'created_at', property.rfc3339(p.created_at),
        'updated_at', property.rfc3339(p.updated_at),
        'published_at', property.rfc3339(p.published_at),
        'deleted_at', property.rfc3339(p.deleted_at)) $$;
