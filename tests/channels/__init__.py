"""Tests of notify's channels stage."""
