// @ts-check
/**
 * Strings of the trust area (codec support, access), one dictionary per UI language. Keys
 * are prefixed `trust.`; placeholders are filled by `t()` in ../i18n.js.
 */

/** @type {Record<string, Record<string, string>>} */
export default {
  en: {
    "trust.videoCodecMissing":
      "This browser cannot send or show {codec} video, which this meeting uses: you take part with sound only. For video, join from another browser.",
  },
  fr: {
    "trust.videoCodecMissing":
      "Ce navigateur ne peut ni envoyer ni afficher la vidéo {codec} qu'utilise cette réunion : vous participez avec le son seulement. Pour la vidéo, rejoignez la réunion depuis un autre navigateur.",
  },
  es: {
    "trust.videoCodecMissing":
      "Este navegador no puede enviar ni mostrar vídeo {codec}, que es el que utiliza esta reunión: participa usted solo con audio. Para tener vídeo, únase desde otro navegador.",
  },
  ru: {
    "trust.videoCodecMissing":
      "Этот браузер не может передавать и показывать видео {codec}, которое используется на этом заседании: вы участвуете только со звуком. Чтобы видеть и передавать видео, подключитесь из другого браузера.",
  },
  zh: {
    "trust.videoCodecMissing":
      "此浏览器无法发送或显示本次会议使用的 {codec} 视频：您只能以音频方式参会。如需视频，请使用其他浏览器加入。",
  },
  ar: {
    "trust.videoCodecMissing":
      "لا يستطيع هذا المتصفح إرسال فيديو {codec} الذي يستخدمه هذا الاجتماع أو عرضه: ستشارك بالصوت فقط. للمشاركة بالفيديو، انضم من متصفح آخر.",
  },
};
