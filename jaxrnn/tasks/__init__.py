"""The chapter's experiments as model functions + data + trainer configurations."""
