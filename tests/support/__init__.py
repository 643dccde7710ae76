"""Helpers the tests share (not tests themselves): importing them never imports another test module."""
