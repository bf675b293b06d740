-- SSE resume and the broadcaster read one topic's publishes after a position:
-- (stream, position) for publish events only, so other appends pay nothing.
CREATE INDEX events_pubsub_stream_position_idx ON events (stream, position)
    WHERE type = 'pubsub.published';
