package docker

import (
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/zrun-dev/zrun/plugins/docker/dockertest"
	"github.com/zrun-dev/zrun/sdk/local"
	"github.com/zrun-dev/zrun/sdk/sdktest"
)

// A tag is added, moved from another image, and left alone when it
// already names the image.
func TestTag(t *testing.T) {
	sock := dockertest.Socket(t)
	name := objectName(t)
	c := testClient(t, sock)
	id := buildImage(t, sock, name+":1", "FROM scratch\nCOPY f /f\n", map[string][]byte{"f": []byte("one")})
	other := buildImage(t, sock, name+":stable", "FROM scratch\nCOPY f /f\n", map[string][]byte{"f": []byte("two")})
	removeImageLater(t, c, other)
	removeImageLater(t, c, name+":2")

	tag := func(source string, tags ...string) *sdktest.Result {
		return sdktest.Run(t, Plugin(), "tag", map[string]cty.Value{
			"source": cty.StringVal(source), "tags": stringList(tags...), "socket": cty.StringVal(sock),
		}, sdktest.WithTarget(local.Target()))
	}
	res := tag(name+":1", name+":2", name+":stable")
	if err := res.Diagnostics.Err(); err != nil {
		t.Fatal(err)
	}
	if got := res.Outputs.GetAttr("image_id").AsString(); got != id {
		t.Errorf("image_id %s, want %s", got, id)
	}
	if !res.Outputs.GetAttr("changed").True() {
		t.Error("changed = false after adding a tag")
	}
	for _, ref := range []string{name + ":2", name + ":stable"} {
		if ins, err := c.ImageInspect(t.Context(), ref); err != nil || ins.ID != id {
			t.Errorf("%s is %s (%v), want %s", ref, ins.ID, err, id)
		}
	}
	res = tag(id, name+":2")
	if err := res.Diagnostics.Err(); err != nil || res.Outputs.GetAttr("changed").True() {
		t.Errorf("tagging again: changed = %v, %v; want false", res.Outputs.GetAttr("changed"), err)
	}

	res = tag(name+":missing", name+":3")
	if len(res.Diagnostics) != 1 || res.Diagnostics[0].Summary != "No such image" || !res.Diagnostics[0].Path.Equals(cty.GetAttrPath("source")) {
		t.Errorf("a missing source: want No such image at source, got %v", res.Diagnostics)
	}
	res = tag(name+":1", "Not A Tag")
	if len(res.Diagnostics) != 1 || !res.Diagnostics[0].Path.Equals(cty.GetAttrPath("tags").IndexInt(0)) {
		t.Errorf("a bad tag: want a diagnostic at tags[0], got %v", res.Diagnostics)
	}
	res = tag(name + ":1")
	if len(res.Diagnostics) != 1 || res.Diagnostics[0].Summary != "No tags" {
		t.Errorf("no tags: want No tags, got %v", res.Diagnostics)
	}
}
