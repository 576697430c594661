// Nothing to do before the job's steps: the check happens in post.js.
console.log("Will check the stub's events at the end of the job.");
