namespace LoadPipe.Storage.GoogleDrive;
