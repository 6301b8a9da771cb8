// Package bugzilla links crash signatures to bugs, as Socorro's
// bugassociations job and Bugs models do. A bug lists the signatures it is
// about in its cf_crash_signature field ("[@ sig1] [@ sig2]"); the cron job
// reads the bugs changed in each period from a Bugzilla REST API (Client),
// parses the field (ParseSignatures) and keeps the association set
// (Associations) in the object store as one object, replaced whole: a
// reader sees the set before a run or after it, never a partial one. The
// webapp reads it through an Index, refreshed from the store.
package bugzilla
