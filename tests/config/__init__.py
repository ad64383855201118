"""Tests of notify's config stage."""
