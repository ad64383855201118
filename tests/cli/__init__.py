"""Tests of notify's cli stage."""
