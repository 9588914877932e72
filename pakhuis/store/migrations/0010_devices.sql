-- Device logins for MQTT (issue 14 part 3): one login per sensor of a tenant. Only the password's
-- hash is kept, already in Mosquitto's own PBKDF2-SHA512 form (`$7$<iterations>$<salt>$<hash>`),
-- so `pakhuis mqtt export-auth` writes the broker's password file without ever needing the
-- password. The username is `<tenant>/<sensor>` ('/' is in no tenant or sensor name, so it
-- cannot be read two ways); on the device listener it is also the client id.
CREATE TABLE mqtt_devices (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant text NOT NULL,
    sensor text NOT NULL,
    username text NOT NULL UNIQUE CHECK (username = tenant || '/' || sensor),
    password_hash text NOT NULL CHECK (password_hash LIKE '$7$%'),
    created timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant, sensor)
);
