-- Registered pub/sub topics: the projection of topic.* events (picloud/projections/topics.py).
-- A topic is internal (no SSE) unless external_subscribable; auth_mode says
-- whether an external subscriber needs a subscriber token.
CREATE TABLE topics (
    app_id                 uuid NOT NULL,
    name                   text NOT NULL,
    external_subscribable  boolean NOT NULL,
    auth_mode              text NOT NULL CHECK (auth_mode IN ('public', 'token')),
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    last_position          bigint NOT NULL,
    PRIMARY KEY (app_id, name)
);
