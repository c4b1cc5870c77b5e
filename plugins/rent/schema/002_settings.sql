-- rent 2: the plugin's own settings that every worker and every host on the
-- database must share — today the sandbox's webhook secret, generated at
-- first start when [plugin.rent] sandbox_webhook_secret is not set.
CREATE TABLE rent.settings (
    name       text PRIMARY KEY,
    value      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
