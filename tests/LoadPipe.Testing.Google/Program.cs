// Placeholder: the Google protocol server is being written.
return 0;
