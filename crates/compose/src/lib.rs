//! The Compose file format as `docker stack deploy` reads it.
