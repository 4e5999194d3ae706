package rpc

import (
	"io/fs"
	"time"

	"github.com/zrun-dev/zrun/sdk"
	pb "github.com/zrun-dev/zrun/sdk/proto/zrunplugin/v1"
)

// The file calls of the Target service: the plugin side's methods of
// remoteTarget (target_files_remote.go) and the host side's of
// targetServer (target_files_server.go) share these encodings.

func encodeFileInfo(fi *sdk.FileInfo) *pb.FileInfo {
	return &pb.FileInfo{
		Name: fi.Name, Size: fi.Size, Mode: uint32(fi.Mode), ModTimeUnixNano: fi.ModTime.UnixNano(),
		Uid: int64(fi.UID), Gid: int64(fi.GID),
	}
}

func decodeFileInfo(fi *pb.FileInfo) *sdk.FileInfo {
	return &sdk.FileInfo{
		Name: fi.GetName(), Size: fi.GetSize(), Mode: fs.FileMode(fi.GetMode()), ModTime: time.Unix(0, fi.GetModTimeUnixNano()),
		UID: int(fi.GetUid()), GID: int(fi.GetGid()),
	}
}
