namespace LoadPipe.Storage.YouTube;
