"""Shared group modules (IBL's ``ibl_pipeline.group_shared``): the wheel-movement tables."""
