// Built into a V8 startup snapshot when the runner image is made (Debian's Node has no
// built-in startup snapshot, so every start would bootstrap Node's JavaScript from scratch,
// ~100 ms of CPU). At run time the snapshot's main function runs the user's file exactly as
// `node main.js` would.
const v8 = require("v8");
v8.startupSnapshot.setDeserializeMainFunction(() => {
  require("module").runMain(require("path").resolve(process.argv[1]));
});
