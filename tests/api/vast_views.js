// What the node scripts of the VAST tests share: an ad as @dailymotion/vast-client read it, and the
// stdin-to-stdout loop (a JSON array of XML documents in, a JSON array of views out).
'use strict';

function adView(ad) {
  const linear = ad.creatives.find((creative) => creative.type === 'linear') || {};
  return {
    id: ad.id,
    sequence: ad.sequence,
    adServingId: ad.adServingId,
    impressions: ad.impressionURLTemplates.map((template) => template.url),
    errors: ad.errorURLTemplates,
    duration: linear.duration,
    mediaFiles: (linear.mediaFiles || []).map((media) => media.fileURL),
    tracking: linear.trackingEvents || {},
    clickTracking: (linear.videoClickTrackingURLTemplates || []).map((template) => template.url),
    verifications: (ad.adVerifications || []).map((verification) => ({
      vendor: verification.vendor,
      resource: verification.resource,
      apiFramework: verification.apiFramework,
      parameters: verification.parameters,
      trackingEvents: verification.trackingEvents,
    })),
  };
}

function run(view) {
  let input = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    input += chunk;
  });
  process.stdin.on('end', async () => {
    const views = [];
    for (const xml of JSON.parse(input)) {
      views.push(await view(xml));
    }
    process.stdout.write(JSON.stringify(views));
  });
}

module.exports = { adView, run };
